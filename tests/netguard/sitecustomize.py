"""Loaded by every Python process the tests start (via PYTHONPATH): no name lookups
leave the machine. Test traffic stays on 127.0.0.1; a lookup of a real-looking name would
send a DNS query to the configured nameserver, so it is refused here instead."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_real_getaddrinfo = socket.getaddrinfo
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _resolves_locally(host: Any) -> bool:
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    name = name.strip("[]").split("%", 1)[0]
    if name.lower() in _LOCAL_NAMES:
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    try:
        socket.inet_aton(name)  # numeric spellings such as 2130706433 or 0x7f.1: no DNS
        return True
    except OSError:
        return False


def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _resolves_locally(host):
        raise socket.gaierror(socket.EAI_NONAME, f"test network guard: no DNS lookup of {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = guarded_getaddrinfo
