"""``server.workers``: from the file, the environment and ``--workers``; validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from gateway.configfiles import ConfigError
from gateway.settings import load_settings


def test_workers_default_to_one_and_the_flag_beats_the_environment_and_the_file(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("[server]\nworkers = 2\n")
    assert load_settings(None, {}).server.workers == 1
    assert load_settings(config, {}).server.workers == 2
    assert load_settings(config, {"GATEWAY_SERVER_WORKERS": "3"}).server.workers == 3
    assert load_settings(config, {"GATEWAY_SERVER_WORKERS": "3"}, workers=4).server.workers == 4


@pytest.mark.parametrize("value", ["0", "65", "many"])
def test_a_bad_worker_count_names_the_field(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"server\.workers"):
        load_settings(None, {"GATEWAY_SERVER_WORKERS": value})


def test_a_dispatcher_only_gateway_refuses_several_workers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "routes").mkdir()
    (tmp_path / "gateway.toml").write_text('[log]\nformat = "json"\n')
    argv = ["serve", "--config", str(tmp_path / "gateway.toml"), "--routes", str(tmp_path / "routes")]
    assert main([*argv, "--role", "dispatcher", "--workers", "2"]) == 2
    assert "needs role all or api" in capsys.readouterr().err
