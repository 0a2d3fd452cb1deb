"""The HTTP edge of the real process (``gateway.edge``): no single client can stall it.

One gateway serves the whole module, with short deadlines and a small in-progress cap so
that each limit is reached in a fraction of a second.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from procs import GatewayProcess
from support import ACME_ROUTES, CREDENTIALS, wait_until_sync

MAX_IN_PROGRESS = 4
CONFIG = f"""
[server]
max_header_bytes = 16384
max_headers = 50
header_timeout = "400ms"
body_timeout = "400ms"
max_requests_in_progress = {MAX_IN_PROGRESS}
[store]
url = "sqlite:///data/gateway.db"
"""
WEBHOOK = "/v1/acme/webhooks/shiprocket"
TOKEN = CREDENTIALS["acme"]["shiprocket"]["x-api-key"]


def webhook_body(awb: str) -> bytes:
    status = {"shipment_status_id": 18, "shipment_status": "IN TRANSIT", "current_timestamp": "14 03 2025 09:00:00"}
    return json.dumps({"awb": awb, **status}).encode()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    workdir = tmp_path_factory.mktemp("edge")
    (workdir / "routes").mkdir()
    (workdir / "routes" / "acme.toml").write_text(ACME_ROUTES)
    (workdir / "gateway.toml").write_text(CONFIG)
    proc = GatewayProcess(workdir)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def connect(gateway: GatewayProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=5)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (the socket's timeout bounds the wait)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def start_upload(sock: socket.socket, length: int, first: bytes) -> None:
    """A webhook's head declaring ``length`` body bytes, and only ``first`` of them."""
    head = f"POST {WEBHOOK} HTTP/1.1\r\nHost: x\r\nx-api-key: {TOKEN}\r\ncontent-length: {length}\r\n\r\n"
    sock.sendall(head.encode() + first)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def error_lines(gateway: GatewayProcess) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in gateway.log_lines() if line.startswith("{")]
    return [line for line in lines if line.get("level") in {"error", "critical"}]


def test_an_endless_header_line_is_cut_off_and_stalls_nobody(gateway: GatewayProcess) -> None:
    assert gateway.proc is not None
    before = rss_mb(gateway.proc.pid)
    stop = time.monotonic() + 3
    cut_off = []

    def attack() -> None:
        sock = connect(gateway)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        try:
            while time.monotonic() < stop:
                sock.sendall(b"a" * 65536)
        except OSError:
            cut_off.append(True)
        finally:
            sock.close()

    attackers = [threading.Thread(target=attack) for _ in range(4)]
    for thread in attackers:
        thread.start()
    worst_health = worst_webhook = 0.0
    with httpx.Client(base_url=gateway.url, timeout=5) as client:
        for i in range(10):
            started = time.monotonic()
            assert client.get("/healthz").status_code == 200
            worst_health = max(worst_health, time.monotonic() - started)
            started = time.monotonic()
            response = client.post(WEBHOOK, content=webhook_body(f"EDGE-HDR-{i}"), headers={"x-api-key": TOKEN})
            assert response.status_code == 200, response.text
            worst_webhook = max(worst_webhook, time.monotonic() - started)
    for thread in attackers:
        thread.join()
    assert worst_health < 1.0 and worst_webhook < 2.0
    assert len(cut_off) == 4
    assert rss_mb(gateway.proc.pid) - before < 150


def test_a_100_kb_header_is_answered_431(gateway: GatewayProcess) -> None:
    response = httpx.get(f"{gateway.url}/healthz", headers={"x-big": "a" * 100_000})
    assert response.status_code == 431
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["connection"] == "close"


def test_too_many_header_fields_are_answered_431(gateway: GatewayProcess) -> None:
    response = httpx.get(f"{gateway.url}/healthz", headers={f"x-h{i}": "1" for i in range(60)})
    assert response.status_code == 431


def test_a_head_under_the_caps_is_served(gateway: GatewayProcess) -> None:
    headers = {f"x-h{i}": "v" * 200 for i in range(40)}  # 40 fields, about 9 KB
    assert httpx.get(f"{gateway.url}/healthz", headers=headers).status_code == 200


def test_a_slow_head_gets_408_and_is_closed(gateway: GatewayProcess) -> None:
    with connect(gateway) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_silent_connection_is_closed_after_the_head_deadline(gateway: GatewayProcess) -> None:
    with connect(gateway) as sock:
        assert read_all(sock) == b""


def lines_until(gateway: GatewayProcess, since: int, event: str) -> list[dict[str, object]]:
    """The log lines after the first ``since``, once ``event`` is among them (5 s at most)."""

    def logged() -> bool:
        if any(event in line for line in gateway.log_lines()[since:]):
            return True
        assert httpx.get(f"{gateway.url}/healthz").status_code == 200  # a turn of the server's loop
        return False

    wait_until_sync(logged, timeout=5, interval=0, what=f"{event} logged")
    return [json.loads(line) for line in gateway.log_lines()[since:] if line.startswith("{")]


def test_a_slow_body_is_cut_off_and_logged_as_aborted_not_crashed(gateway: GatewayProcess) -> None:
    count = len(gateway.log_lines())
    with connect(gateway) as sock:
        start_upload(sock, 500, b'{"awb": "SLOW')
        assert read_all(sock) == b""
    new = lines_until(gateway, count, "webhook.aborted")
    assert [line["event"] for line in new if line["event"] == "webhook.aborted"] == ["webhook.aborted"]
    assert not error_lines(gateway)


def test_a_client_gone_mid_body_is_one_info_line(gateway: GatewayProcess) -> None:
    count = len(gateway.log_lines())
    with connect(gateway) as sock:
        start_upload(sock, 5000, b'{"awb": "GONE')
    new = lines_until(gateway, count, "webhook.aborted")
    aborted = [line for line in new if line["event"] == "webhook.aborted"]
    assert len(aborted) == 1 and aborted[0]["level"] == "info" and aborted[0]["org"] == "acme"
    assert not [line for line in new if line["level"] != "info"]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_2_mib_body_sent_whole_reads_413_every_time(gateway: GatewayProcess, chunked: bool) -> None:
    body = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    for _ in range(10):
        if chunked:
            conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
            conn.request("POST", WEBHOOK, body=iter([body]), headers={"x-api-key": TOKEN}, encode_chunked=True)
            with conn.getresponse() as response:
                status = response.status
            conn.close()
        else:
            request = urllib.request.Request(f"{gateway.url}{WEBHOOK}", data=body, headers={"x-api-key": TOKEN})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            status = refused.value.code
            refused.value.close()
        assert status == 413


def test_past_the_in_progress_cap_requests_are_shed_with_503_but_health_answers(gateway: GatewayProcess) -> None:
    # Requests whose bodies are still arriving are in progress: they hold the cap.
    holders = [connect(gateway) for _ in range(MAX_IN_PROGRESS)]
    try:
        for sock in holders:
            sock.sendall(f"POST {WEBHOOK} HTTP/1.1\r\nHost: x\r\ncontent-length: 100\r\n\r\n{{".encode())

        # Once the server holds them all, a webhook is shed at once, without a store write.
        def shed() -> httpx.Response | None:
            response = httpx.post(
                f"{gateway.url}{WEBHOOK}", content=webhook_body("SHED-1"), headers={"x-api-key": TOKEN}
            )
            return response if response.status_code == 503 else None

        response = wait_until_sync(shed, timeout=5, interval=0, what="a webhook shed with 503")
        assert response.headers["retry-after"] == "1"
        assert response.headers["content-type"] == "application/problem+json"
        assert httpx.get(f"{gateway.url}/healthz").status_code == 200
        assert httpx.get(f"{gateway.url}/readyz").status_code == 200
    finally:
        for sock in holders:
            sock.close()
    shipment = httpx.get(f"{gateway.url}/v1/acme/shipments/SHED-1", headers=CREDENTIALS["acme"]["api"])
    assert shipment.status_code == 404  # nothing shed was stored


def test_sigterm_serves_or_cleanly_closes_idle_keep_alive_connections(tmp_path: Path) -> None:
    (tmp_path / "routes").mkdir()
    (tmp_path / "routes" / "acme.toml").write_text(ACME_ROUTES)
    (tmp_path / "gateway.toml").write_text('[store]\nurl = "sqlite:///data/gateway.db"\n')
    proc = GatewayProcess(tmp_path)
    proc.start()
    try:
        conns = [http.client.HTTPConnection("127.0.0.1", proc.port, timeout=10) for _ in range(8)]
        for conn in conns:  # each now idle on a kept-alive connection
            conn.request("GET", "/healthz")
            with conn.getresponse() as response:
                assert response.read() == b'{"status":"ok"}'
        assert proc.proc is not None
        proc.proc.send_signal(signal.SIGTERM)

        # Shutdown has begun once the listener is closed; the kept-alive connections live on.
        def listener_closed() -> bool:
            try:
                socket.create_connection(("127.0.0.1", proc.port), timeout=1).close()
            except (ConnectionRefusedError, ConnectionResetError):  # a backlog closed under it resets
                return True
            return False

        wait_until_sync(listener_closed, timeout=5, interval=0, what="the listener closed")
        outcomes = []
        started = time.monotonic()
        for i, conn in enumerate(conns):
            try:
                conn.request("POST", WEBHOOK, body=webhook_body(f"TERM-{i}"), headers={"x-api-key": TOKEN})
                with conn.getresponse() as response:
                    response.read()
                    outcomes.append((response.status, response.getheader("connection"), time.monotonic() - started))
            except OSError as exc:
                outcomes.append((repr(exc), None, time.monotonic() - started))
            conn.close()
        # Served (and told the connection closes), or closed cleanly before the request was
        # read: the client knows nothing was taken. Never a reset, which leaves it guessing.
        assert outcomes[0][:2] == (200, "close"), outcomes
        clean_close = "RemoteDisconnected('Remote end closed connection without response')"
        assert all(o[:2] in {(200, "close"), (clean_close, None)} for o in outcomes), outcomes
        assert proc.proc.wait(timeout=30) == 0
    finally:
        proc.stop()
