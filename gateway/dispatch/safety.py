"""Destination safety (SPEC §7.7): refuse deliveries that would reach internal networks.

The check runs on *addresses*, never on URL text: ``127.1``, ``2130706433``, ``0x7f.1``
and ``0177.0.0.1`` are all 127.0.0.1 to the system resolver, and ``ipaddress`` rejects
every one of them. Two gates therefore cover every path to a socket:

* ``check_url`` — scheme and host; IP-literal hosts are vetted here because aiohttp
  connects to literals without calling the resolver.
* ``VettingResolver`` — for names: resolves, drops every forbidden address and hands the
  survivors to aiohttp, which connects only to what the resolver returned. The checked
  address is the connected address (pinning), so DNS rebinding has no second lookup to win.

The deny list is Svix's (``webhook_http_client.rs``) written out explicitly, because
``is_global`` is True for NAT64 ``64:ff9b::7f00:1``, 6to4 ``2002:7f00:1::`` and
``192.88.99.1`` on CPython 3.11.
"""

from __future__ import annotations

import re
import socket
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

# fmt: off
_V4_DENY: tuple[IPv4Network, ...] = tuple(map(IPv4Network, (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "255.255.255.255/32",
)))
_V6_DENY: tuple[IPv6Network, ...] = tuple(map(IPv6Network, (
    "::/96",                            # unspecified, loopback, deprecated IPv4-compatible
    "64:ff9b::/96", "64:ff9b:1::/48",   # NAT64: the gateway would reach the embedded IPv4
    "100::/64",                         # discard-only
    "2001::/23",                        # IETF protocol assignments, Teredo 2001::/32 included
    "2001:db8::/32",                    # documentation
    "2002::/16",                        # 6to4: relays to the embedded IPv4
    "5f00::/16",                        # SRv6 SIDs
    "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
)))
# fmt: on
_MAPPED = IPv6Network("::ffff:0:0/96")

#: One part of an inet_aton number: hex, octal (leading 0) or decimal. getaddrinfo accepts
#: one to four of them ("127.1", "0x7f.1", "2130706433") and never asks DNS about them.
_INET_ATON_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


class DestinationRefused(OSError):
    """A delivery target the gateway will not contact.

    An ``OSError`` on purpose: aiohttp wraps an ``OSError`` raised by the resolver in
    ``ClientConnectorDNSError`` (keeping it as ``__cause__``) instead of letting an arbitrary
    exception escape; the sender looks for it there. The message names the host and the
    reason only: never the full URL, which may carry credentials or a token in the query.
    """

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host or '?'}: {reason}")
        self.host = host
        self.reason = reason


def forbidden_reason(ip: IPv4Address | IPv6Address) -> str | None:
    """Why ``ip`` is refused (the matching range or property), or ``None`` when allowed."""
    if isinstance(ip, IPv6Address):
        if ip in _MAPPED:
            # ipaddress calls all of ::ffff:0:0/96 private; what matters is the IPv4 inside.
            inner = forbidden_reason(IPv4Address(int(ip) & 0xFFFFFFFF))
            return None if inner is None else f"IPv4-mapped {inner}"
        for net6 in _V6_DENY:
            if ip in net6:
                return str(net6)
    else:
        for net4 in _V4_DENY:
            if ip in net4:
                return str(net4)
    for flag in ("private", "loopback", "link_local", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{flag}"):
            return flag.replace("_", "-")
    return None


def is_forbidden(ip: IPv4Address | IPv6Address) -> bool:
    return forbidden_reason(ip) is not None


def _address_reason(text: str) -> str | None:
    """``forbidden_reason`` for an address string from a resolver or a URL; fails closed."""
    try:
        return forbidden_reason(ip_address(text))
    except ValueError:
        return "not an IP address"


def inet_aton_legacy(host: str) -> bool:
    """True for the numeric forms the system resolver reads as IPv4 (besides dotted quads)."""
    parts = host.split(".")
    return 1 <= len(parts) <= 4 and all(_INET_ATON_PART.fullmatch(p) for p in parts)


def check_url(url: str, *, allow_private: bool = False) -> None:
    """Refuse a URL that is not http(s) with a host, or whose IP-literal host is forbidden."""
    try:
        parsed = URL(url)
    except (TypeError, ValueError):
        raise DestinationRefused("?", "not a valid URL") from None
    host = parsed.host or ""
    if parsed.scheme not in ("http", "https"):
        raise DestinationRefused(host, f"scheme {parsed.scheme[:16]!r} is not http or https")
    if not host:
        raise DestinationRefused(host, "URL has no host")
    if allow_private:
        return
    # yarl keeps an IPv6 zone ("fe80::1%eth0"); a trailing dot ("127.0.0.1.") would turn a
    # literal into a name sent to DNS, whose answer is vetted, but refusing it is plainer.
    literal = host.partition("%")[0].removesuffix(".")
    try:
        address = ip_address(literal)
    except ValueError:
        if inet_aton_legacy(literal):
            # Such a host reaches a socket as some IPv4 while looking like a name; nothing
            # legitimate is written this way, so refuse it whatever it denotes.
            raise DestinationRefused(host, "numeric host is not a dotted-quad IPv4 address") from None
        return  # a name: VettingResolver vets what it resolves to
    reason = forbidden_reason(address)
    if reason is not None:
        raise DestinationRefused(host, f"address in forbidden range {reason}")


class VettingResolver(AbstractResolver):
    """Resolve through ``inner`` and return only addresses that pass ``is_forbidden``.

    Build it inside a running loop when ``inner`` is omitted (aiohttp's ThreadedResolver
    binds the loop at construction). Not aiodns: the system resolver honours /etc/hosts
    and nsswitch, which is what operators expect a name to mean.
    """

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner if inner is not None else ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [r for r in results if _address_reason(r["host"]) is None]
        if not allowed:
            refused = sorted({r["host"] for r in results})
            shown = ", ".join(refused[:4]) + (", ..." if len(refused) > 4 else "")
            raise DestinationRefused(host, f"resolves only to forbidden addresses ({shown or 'none'})")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
