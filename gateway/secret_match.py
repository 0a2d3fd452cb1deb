"""Constant-time comparison of presented credentials against a rotation list."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def matches_any(presented: str | None, accepted: Iterable[str]) -> bool:
    """True when ``presented`` equals one of ``accepted``; every candidate is compared."""
    return find_match(presented, [(secret, True) for secret in accepted]) is not None


def find_match(presented: str | None, candidates: Iterable[tuple[str, T]]) -> T | None:
    # Compare against every candidate so the time taken does not reveal which one (or
    # whether any) matched first.
    if presented is None:
        return None
    given = presented.encode("utf-8", "surrogateescape")
    found: T | None = None
    for secret, value in candidates:
        if hmac.compare_digest(given, secret.encode("utf-8", "surrogateescape")) and found is None:
            found = value
    return found
