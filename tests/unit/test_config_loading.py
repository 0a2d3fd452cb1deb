"""Settings and routing tables as an operator meets them: files, ``${ENV}``, ``GATEWAY_*``,
flags, and ``gateway check`` naming the file and the field of every problem (SPEC §3–§4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from gateway.configfiles import ConfigError
from gateway.routing import load_routes
from gateway.settings import load_settings

REPO = Path(__file__).resolve().parents[2]

GOOD_ROUTES = """
org = "acme"
[sources.shiprocket]
tokens = ["${SR_TOKEN}"]
[[endpoints]]
name = "oms"
url = "https://oms.example.com/hooks"
"""


def _routes(tmp_path: Path, text: str = GOOD_ROUTES, name: str = "acme") -> Path:
    directory = tmp_path / "routes"
    directory.mkdir(exist_ok=True)
    (directory / f"{name}.toml").write_text(text)
    return directory


def test_the_checked_in_config_and_routes_load_with_no_environment_variable_set() -> None:
    settings = load_settings(REPO / "config" / "gateway.toml", {})
    routes = load_routes(REPO / "routes", {})
    assert settings.store.url.startswith("sqlite:///")
    assert settings.server.workers == 1
    assert routes.orgs


def test_env_references_are_filled_in_and_a_missing_one_is_named_with_its_file_and_field(tmp_path: Path) -> None:
    directory = _routes(tmp_path)
    routes = load_routes(directory, {"SR_TOKEN": "sr-token-from-env-01"})
    acme = routes.get("acme")
    assert acme is not None and acme.sources.shiprocket.tokens == ("sr-token-from-env-01",)
    with pytest.raises(ConfigError) as caught:
        load_routes(directory, {})
    message = str(caught.value)
    assert str(directory / "acme.toml") in message
    assert "sources.shiprocket.tokens.0" in message
    assert "SR_TOKEN" in message


def test_gateway_overrides_beat_the_file_and_flags_beat_both(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[server]\nport = 9000\n[delivery]\nretry_schedule = ["1s"]\n')
    env = {"GATEWAY_PORT": "9100", "GATEWAY_DELIVERY_RETRY_SCHEDULE": '["2s", "3s"]', "GATEWAY_ADMIN_TOKEN": "x" * 12}
    settings = load_settings(config, env)
    assert settings.server.port == 9100
    assert settings.delivery.retry_schedule == (2.0, 3.0)
    assert settings.admin.token == "x" * 12
    assert load_settings(config, env, port=9200).server.port == 9200


@pytest.mark.parametrize(
    ("toml", "env", "field"),
    [
        ('[server]\nport = "eighty"\n', {}, "server.port"),
        ("[server]\nportt = 1\n", {}, "server.portt"),
        ('[store]\nurl = "mysql://x"\n', {}, "store"),
        ("", {"GATEWAY_SERVER_NOPE": "1"}, "GATEWAY_SERVER_NOPE"),
        ("[server\n", {}, "not valid TOML"),
    ],
)
def test_a_bad_setting_is_refused_naming_where_it_is(
    tmp_path: Path, toml: str, env: dict[str, str], field: str
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_settings(config, env)


def test_gateway_check_passes_a_good_tree_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SR_TOKEN", "sr-token-from-env-01")
    directory = _routes(tmp_path)
    (tmp_path / "gateway.toml").write_text("[server]\nport = 8181\n")
    code = main(["check", "--config", str(tmp_path / "gateway.toml"), "--routes", str(directory)])
    out = capsys.readouterr().out
    assert code == 0
    assert "port 8181" in out
    assert "org     acme" in out and "1 endpoint(s)" in out


def test_gateway_check_fails_on_every_bad_file_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SR_TOKEN", "sr-token-from-env-01")
    directory = _routes(tmp_path)
    bad_endpoint = GOOD_ROUTES.replace('org = "acme"', 'org = "beta"').replace(
        'url = "https://oms.example.com/hooks"', 'url = "ftp://oms.example.com"'
    )
    _routes(tmp_path, bad_endpoint, "beta")
    _routes(tmp_path, GOOD_ROUTES.replace('org = "acme"', 'org = "gamma"'), "delta")
    (tmp_path / "gateway.toml").write_text("")
    code = main(["check", "--config", str(tmp_path / "gateway.toml"), "--routes", str(directory)])
    err = capsys.readouterr().err
    assert code != 0
    assert f"{directory / 'beta.toml'}: endpoints.0.url" in err
    assert f"{directory / 'delta.toml'}: org" in err  # the org must match the file name


@pytest.mark.parametrize(
    ("extra", "field"),
    [('secret = "whsec_"', "endpoints.0.secret"), ('headers = { "x-token\\n" = "v" }', "endpoints.0.headers")],
)
def test_a_routes_file_endpoint_delivery_could_not_use_is_refused(tmp_path: Path, extra: str, field: str) -> None:
    directory = _routes(tmp_path, GOOD_ROUTES + extra + "\n")
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_routes(directory, {"SR_TOKEN": "sr-token-from-env-01"})


@pytest.mark.parametrize("secret", ["my shared passphrase", "c2VjcmV0", "whsec_c2Vj-mV0_w"])
def test_gateway_check_refuses_a_secret_standard_webhooks_receivers_cannot_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("SR_TOKEN", "sr-token-from-env-01")
    directory = _routes(tmp_path, GOOD_ROUTES + f'secret = ["whsec_c2VjcmV0", "{secret}"]\n')
    (tmp_path / "gateway.toml").write_text("")
    code = main(["check", "--config", str(tmp_path / "gateway.toml"), "--routes", str(directory)])
    err = capsys.readouterr().err
    assert code != 0
    assert f"{directory / 'acme.toml'}: endpoints.0.secret" in err and "secret 1: " in err and "whsec_" in err
    assert secret not in err
