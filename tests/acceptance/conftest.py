"""Fixtures for acceptance tests: a work directory with config and routes, a process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from procs import GatewayProcess
from support import ACME_ROUTES, BETA_ROUTES


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "routes").mkdir()
    (tmp_path / "routes" / "acme.toml").write_text(ACME_ROUTES)
    (tmp_path / "routes" / "beta.toml").write_text(BETA_ROUTES)
    (tmp_path / "gateway.toml").write_text('[store]\nurl = "sqlite:///data/gateway.db"\n')
    return tmp_path


@pytest.fixture
def gateway_process(workdir: Path) -> Iterator[GatewayProcess]:
    proc = GatewayProcess(workdir)
    try:
        yield proc
    finally:
        proc.stop()
