"""The real ``gateway serve`` against fake aggregators served by ``python -m tests.fakes.run``:
labels work over real sockets and no configured secret reaches the process's log."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakes import clickpost, shiprocket
from procs import GatewayProcess, free_port
from proxysupport import SECRETS, label_body
from support import NETGUARD, REPO, wait_until_sync


def answers(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
    except httpx.TransportError:
        return False
    return True


@pytest.fixture
def fake_servers() -> Iterator[dict[str, int]]:
    ports = {"shiprocket": free_port(), "clickpost": free_port()}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(NETGUARD), str(REPO)) if p)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.run", "--aggregator", name, "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, port in ports.items()
    ]
    try:
        for name, port in ports.items():
            wait_until_sync(lambda port=port: answers(port), timeout=15, what=f"the fake {name} answering")
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def test_labels_through_the_real_process_and_no_secret_in_its_log(
    workdir: Path, gateway_process: GatewayProcess, fake_servers: dict[str, int]
) -> None:
    routes = workdir / "routes" / "acme.toml"
    routes.write_text(
        routes.read_text()
        + f"""
[accounts.sr-main]
aggregator = "shiprocket"
default = true
base_url = "http://127.0.0.1:{fake_servers["shiprocket"]}"
email = "{shiprocket.EMAIL}"
password = "{shiprocket.PASSWORD}"
pickup_location = "Primary"

[accounts.cp-main]
aggregator = "clickpost"
base_url = "http://127.0.0.1:{fake_servers["clickpost"]}"
username = "{clickpost.USERNAME}"
key = "{clickpost.KEY}"
"""
    )
    gateway_process.start()
    api = {"authorization": "Bearer acme-oms-key-0001"}
    sr = httpx.post(f"{gateway_process.url}/v1/acme/labels", json=label_body(), headers=api, timeout=10)
    cp = httpx.post(
        f"{gateway_process.url}/v1/acme/labels",
        json=label_body("ORD-2", accountAlias="cp-main"),
        headers=api,
        timeout=10,
    )
    invalid = httpx.post(
        f"{gateway_process.url}/v1/acme/labels",
        json=label_body("ORD-3", accountAlias="cp-main", pickupAddress={"firstName": "x"}),
        headers=api,
        timeout=10,
    )
    assert (sr.status_code, cp.status_code, invalid.status_code) == (200, 200, 422)
    assert sr.json()["aggregator"] == "shiprocket" and cp.json()["aggregator"] == "clickpost"
    log = gateway_process.log_path.read_text()
    assert '"event":"proxy.call"' in log.replace(" ", "")
    for secret in (*SECRETS, "sr-jwt-"):
        assert secret not in log
