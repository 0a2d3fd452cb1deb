"""Who may push to ``/v1/{org}/webhooks/{source}``: each source's scheme (SPEC §6).

Every comparison is constant-time and accepts any secret of the rotation list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.models import Source
from gateway.routing import SourcesConfig
from gateway.secret_match import find_match, matches_any

#: Sources whose aggregator panels may store only a URL: the secret rides as ``?key=``.
QUERY_KEY_SOURCES = frozenset({Source.SHIPROCKET, Source.CLICKPOST, Source.SHIPWAY})


def _authorization_value(header: str | None) -> list[str]:
    """ClickPost puts its key in ``Authorization`` bare or behind a scheme word."""
    if not header:
        return []
    header = header.strip()
    _scheme, _, rest = header.partition(" ")
    return [header, rest.strip()] if rest else [header]


def secrets_for(source: Source, sources: SourcesConfig) -> tuple[str, ...]:
    if source is Source.SHIPROCKET:
        return sources.shiprocket.tokens
    if source is Source.CLICKPOST:
        return sources.clickpost.keys
    if source is Source.SHIPWAY:
        return sources.shipway.hashes
    return ()


def verify_query_key(source: Source, sources: SourcesConfig, key: str | None) -> bool:
    return key is not None and source in QUERY_KEY_SOURCES and matches_any(key, secrets_for(source, sources))


def verify_headers(source: Source, sources: SourcesConfig, headers: Mapping[str, str]) -> bool:
    """Header-borne credentials (Shiprocket, ClickPost, Magic)."""
    if source is Source.SHIPROCKET:
        return matches_any(headers.get("x-api-key"), sources.shiprocket.tokens)
    if source is Source.CLICKPOST:
        candidates = [
            headers.get("webhook_key"),
            headers.get("webhook-key"),
            *_authorization_value(headers.get("authorization")),
        ]
        return any(matches_any(c, sources.clickpost.keys) for c in candidates if c)
    if source is Source.MAGIC:
        return _verify_magic(sources, headers)
    return False


def _verify_magic(sources: SourcesConfig, headers: Mapping[str, str]) -> bool:
    username = headers.get("authusername")
    password = headers.get("authpassword")
    domain = headers.get("authdomainname")
    if username is None or password is None:
        return False
    ok = False
    for cred in sources.magic.credentials:
        # Evaluate every comparison so timing does not tell which part was wrong.
        user_ok = matches_any(username, [cred.username])
        pass_ok = matches_any(password, [cred.password])
        domain_ok = cred.domain is None or matches_any(domain or "", [cred.domain])
        ok = ok or (user_ok and pass_ok and domain_ok)
    return ok


def verify_shipway_body(sources: SourcesConfig, body: Any) -> bool:
    """Shipway's secret is the ``hash`` field of the body."""
    presented = body.get("hash") if isinstance(body, dict) else None
    if not isinstance(presented, str):
        return False
    return find_match(presented, [(h, True) for h in sources.shipway.hashes]) is not None
