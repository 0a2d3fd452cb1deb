"""Fixtures: a sender allowed to reach loopback, where the sinks live."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.dispatch.sender import Sender


@pytest.fixture
async def sender() -> AsyncIterator[Sender]:
    """A sender allowed to reach loopback, where the sinks live."""
    s = Sender(allow_private=True)
    yield s
    await s.close()
