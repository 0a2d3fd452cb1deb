"""``gateway send-sample``, ``gateway deliveries`` and ``gateway replay`` against a real
``gateway serve`` process. Its endpoints point at 127.0.0.1, which the default destination
safety refuses without a packet, and its retry schedule is empty: every delivery fails at
once, which is what ``deliveries`` and ``replay`` work on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from procs import GatewayProcess
from support import FIXTURES, NETGUARD, wait_until_sync

from gateway.cli import main

ADMIN = {"authorization": "Bearer dev-admin-token"}


@pytest.fixture
def gateway(workdir: Path) -> Iterator[GatewayProcess]:
    config = '[store]\nurl = "sqlite:///data/gateway.db"\n[delivery]\nretry_schedule = []\n'
    (workdir / "gateway.toml").write_text(config)
    proc = GatewayProcess(workdir)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], workdir: Path, gateway: GatewayProcess) -> Run:
    def go(*argv: str, url: bool = True) -> tuple[int, str, str]:
        extra = ["--url", gateway.url] if url else []
        code = main([*argv, "--config", str(workdir / "gateway.toml"), "--routes", str(workdir / "routes"), *extra])
        out, err = capsys.readouterr()
        return code, out, err

    return go


def admin(gateway: GatewayProcess, path: str, **params: Any) -> Any:
    response = httpx.get(f"{gateway.url}{path}", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def failed(gateway: GatewayProcess, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = admin(gateway, "/v1/admin/deliveries", state="failed", **params)["items"]
    return items


@pytest.mark.parametrize(
    ("name", "org", "accepted"),
    [
        ("shiprocket-in-transit", "acme", 1),
        ("clickpost-failed-delivery", "acme", 1),  # the key in Authorization
        ("clickpost-out-for-delivery", "beta", 1),  # the key in webhook_key
        ("magic-forward", "acme", 1),  # username, password and domain
        ("magic-return-pickup", "beta", 1),  # beta's credential has no domain
        ("shipway-batch", "acme", 2),  # the body's hash
    ],
)
def test_send_sample_posts_a_fixture_with_the_orgs_credentials(
    run: Run, gateway: GatewayProcess, name: str, org: str, accepted: int
) -> None:
    code, out, _ = run("send-sample", name, "--org", org, "--fixtures", str(FIXTURES))
    assert code == 0, out
    assert f"/v1/{org}/webhooks/" in out and ": 200" in out
    body = json.loads(out.splitlines()[1])
    assert body["accepted"] == accepted
    found = admin(gateway, "/v1/admin/notifications", org=org)["items"]
    assert sorted(n["eventId"] for n in found) == sorted(body["eventIds"])
    assert f"/v1/admin/notifications/{body['eventIds'][0]}" in out


def test_send_sample_entry_point_finds_the_fixtures_by_itself(workdir: Path, gateway: GatewayProcess) -> None:
    pythonpath = os.pathsep.join(p for p in (str(NETGUARD), os.environ.get("PYTHONPATH", "")) if p)
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "send-sample", "--config", "gateway.toml", "--url", gateway.url],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": pythonpath},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "shiprocket-in-transit" in result.stdout and ": 200" in result.stdout


def test_send_sample_errors(run: Run, gateway: GatewayProcess) -> None:
    code, _, err = run("send-sample", "no-such-fixture", "--fixtures", str(FIXTURES))
    assert code == 1 and "shiprocket-in-transit" in err
    code, _, err = run("send-sample", "--org", "nobody", "--fixtures", str(FIXTURES))
    assert code == 1 and "nobody" in err
    code, out, _ = run("send-sample", "--list", "--fixtures", str(FIXTURES))
    assert code == 0 and "shipway-batch" in out.split()


def test_deliveries_lists_by_state_and_replay_requeues(run: Run, gateway: GatewayProcess) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    assert run("send-sample", "shiprocket-in-transit", "--fixtures", str(FIXTURES))[0] == 0
    # Endpoints "all" and "with-stale":
    wait_until_sync(lambda: len(failed(gateway)) == 2, timeout=10, what="two failed deliveries")

    code, out, _ = run("deliveries", "--state", "failed")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["ID", "STATE"] and lines[-1] == "2 failed deliveries"
    assert {line.split()[2] for line in lines[1:-1]} == {"acme/all", "acme/with-stale"}

    code, out, _ = run("deliveries", "--state", "failed", "--endpoint", "all", "--json")
    (item,) = [json.loads(line) for line in out.splitlines()]
    assert item["endpoint"] == "all" and item["state"] == "failed" and item["attemptCount"] == 1
    code, out, _ = run("deliveries", "--state", "failed", "--limit", "1")
    assert out.splitlines()[-1] == "1 failed deliveries (more: raise --limit)"
    assert run("deliveries", "--state", "delivered")[1].splitlines()[-1] == "0 delivered deliveries"

    until = datetime.now(UTC) + timedelta(minutes=1)
    code, out, _ = run(
        "replay", "--org", "acme", "--endpoint", "all", "--since", start.isoformat(), "--until", until.isoformat()
    )
    assert code == 0, out
    assert out.splitlines()[0].startswith("[1/1] ") and "requeued 1 (total 1)" in out
    assert out.splitlines()[-1] == "replayed 1 failed deliveries of acme/all"

    def attempts_of(delivery_id: int) -> int:
        detail = admin(gateway, f"/v1/admin/notifications/{item['eventId']}")
        (d,) = [d for d in detail["deliveries"] if d["id"] == delivery_id]
        return len(d["attempts"]) if d["state"] == "failed" else -1

    # Sent again (and refused again):
    wait_until_sync(lambda: attempts_of(item["id"]) == 2, timeout=10, what="a second attempt")

    (other,) = failed(gateway, endpoint="with-stale")
    code, out, _ = run("replay", "--id", str(other["id"]))
    assert code == 0 and f"requeued delivery {other['id']} (acme/with-stale" in out
    wait_until_sync(lambda: attempts_of(other["id"]) == 2, timeout=10, what="a second attempt")


def test_admin_commands_take_the_token_from_flag_env_or_config(
    run: Run, gateway: GatewayProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("deliveries")[0] == 0  # the config's (default) token
    code, _, err = run("deliveries", "--token", "wrong-token")
    assert code == 1 and "401" in err
    monkeypatch.setenv("GATEWAY_ADMIN_TOKEN", "wrong-token-from-env")
    code, _, err = run("deliveries")
    assert code == 1 and "401" in err
    assert run("deliveries", "--token", "dev-admin-token")[0] == 0
    code, _, err = run("replay", "--org", "acme")
    assert code == 1 and "--since" in err


def test_an_unreachable_gateway_is_a_clear_error(run: Run, gateway: GatewayProcess) -> None:
    from procs import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    code, _, err = run("deliveries", "--url", dead, url=False)
    assert code == 1 and f"cannot reach the gateway at {dead}" in err
    code, _, err = run("send-sample", "--url", dead, "--fixtures", str(FIXTURES), url=False)
    assert code == 1 and "gateway serve" in err
