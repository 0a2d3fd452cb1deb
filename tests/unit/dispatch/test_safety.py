"""Destination safety: the deny list, URL checks and the vetting resolver.

Public addresses here are only vetted, never dialled; names resolve through FakeResolver,
except the numeric names the system resolver reads locally (glibc parses them with
inet_aton and asks no DNS server: checked under strace in an empty network namespace).
"""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv4Network, IPv6Address, ip_address

import pytest
from aiohttp.resolver import ThreadedResolver
from hypothesis import given
from hypothesis import strategies as st
from sinks import FakeResolver

from gateway.dispatch.safety import DestinationRefused, VettingResolver, check_url, is_forbidden

FORBIDDEN = [
    "0.0.0.0", "10.0.0.1", "100.64.0.1", "127.0.0.1", "127.255.255.254", "169.254.169.254",
    "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.88.99.1", "192.168.1.1",
    "198.18.0.1", "198.51.100.7", "203.0.113.9", "224.0.0.1", "240.0.0.1", "255.255.255.255",
    "::", "::1", "::127.0.0.1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
    "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::808:808", "64:ff9b:1::1", "100::1",
    "2001::1", "2001:0:4136:e378::1", "2001:db8::1", "2002:7f00:1::", "2002:808:808::1",
    "5f00::1", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "fec0::1", "ff02::1",
]  # fmt: skip
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700::1", "2001:4860:4860::8888", "::ffff:93.184.216.34"]
# The names the system resolver turns into 127.0.0.1; ipaddress rejects every one of them.
LOOPBACK_SPELLINGS = ["2130706433", "0x7f.1", "0177.0.0.1", "127.1", "0x7f000001", "017700000001"]

# Written independently of gateway.dispatch.safety: IANA special-purpose IPv4 ranges.
REFERENCE_V4 = [
    IPv4Network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    )
]  # fmt: skip


@pytest.mark.parametrize("address", FORBIDDEN)
def test_forbidden_addresses_are_refused(address: str) -> None:
    assert is_forbidden(ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert not is_forbidden(ip_address(address))


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_ipv4_verdict_matches_the_reference_ranges(n: int) -> None:
    ip = IPv4Address(n)
    assert is_forbidden(ip) == any(ip in net for net in REFERENCE_V4)


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_ipv4_embedded_in_ipv6(n: int) -> None:
    """Mapped forms follow the IPv4 inside; NAT64 and 6to4 reach it through a relay, so never."""
    assert is_forbidden(IPv6Address(0xFFFF_0000_0000 | n)) == is_forbidden(IPv4Address(n))
    assert is_forbidden(IPv6Address((0x64_FF9B << 96) | n))
    assert is_forbidden(IPv6Address((0x2002 << 112) | (n << 80)))


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "file:///etc/passwd", "gopher://example.com/", "ws://example.com/",
     "http:///path", "//example.com/hook", "example.com/hook", "", "http://[::1"],
)  # fmt: skip
def test_check_url_refuses_other_schemes_and_missing_hosts(url: str) -> None:
    with pytest.raises(DestinationRefused):
        check_url(url)
    with pytest.raises(DestinationRefused):
        check_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/", "https://10.1.2.3:8443/x", "http://[::1]:8080/", "http://[::ffff:127.0.0.1]/",
     "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::]/", "http://[fe80::1%25eth0]/",
     "http://169.254.169.254/latest/meta-data/", "http://127.0.0.1./"]
    + [f"http://{name}/" for name in LOOPBACK_SPELLINGS],
)  # fmt: skip
def test_check_url_vets_ip_literals_and_numeric_spellings(url: str) -> None:
    with pytest.raises(DestinationRefused):
        check_url(url)


@pytest.mark.parametrize(
    "url", ["https://example.com/hook", "http://93.184.216.34:8080/", "https://[2606:4700::1]/", "http://cafe.be/"]
)
def test_check_url_accepts_public_literals_and_names(url: str) -> None:
    check_url(url)


def test_allow_private_lifts_the_address_check_only() -> None:
    check_url("http://127.0.0.1:9/", allow_private=True)
    check_url("http://2130706433/", allow_private=True)


def test_refusal_names_the_host_but_never_credentials_or_query() -> None:
    with pytest.raises(DestinationRefused) as caught:
        check_url("https://admin:hunter2@10.0.0.7:8443/hook?token=s3cr3t")
    message = str(caught.value)
    assert "10.0.0.7" in message and "10.0.0.0/8" in message
    assert "hunter2" not in message and "s3cr3t" not in message and "admin" not in message


async def test_resolver_refuses_names_that_map_to_loopback() -> None:
    inner = FakeResolver({name: ["127.0.0.1"] for name in LOOPBACK_SPELLINGS})
    resolver = VettingResolver(inner)
    for name in LOOPBACK_SPELLINGS:
        with pytest.raises(DestinationRefused, match=r"127\.0\.0\.1"):
            await resolver.resolve(name, 80, socket.AF_UNSPEC)
    assert inner.asked == LOOPBACK_SPELLINGS


async def test_resolver_returns_only_vetted_addresses_in_order() -> None:
    """aiohttp connects to exactly this list: the checked address is the connected one."""
    inner = FakeResolver(
        {"mixed.test": ["10.0.0.1", "93.184.216.34", "::ffff:127.0.0.1", "64:ff9b::a00:1", "2606:4700::1"]}
    )
    results = await VettingResolver(inner).resolve("mixed.test", 443, socket.AF_UNSPEC)
    assert [r["host"] for r in results] == ["93.184.216.34", "2606:4700::1"]
    assert all(r["port"] == 443 and r["hostname"] == "mixed.test" for r in results)


@pytest.mark.parametrize("address", ["169.254.169.254", "100.64.0.1", "fc00::1", "64:ff9b::a00:1", "2002:7f00:1::"])
async def test_resolver_refuses_a_name_with_only_forbidden_answers(address: str) -> None:
    with pytest.raises(DestinationRefused) as caught:
        await VettingResolver(FakeResolver({"internal.test": [address]})).resolve("internal.test", 80)
    assert isinstance(caught.value, OSError)  # so aiohttp wraps it instead of crashing
    assert caught.value.host == "internal.test"


async def test_resolver_passes_lookup_failures_through_and_closes_its_inner() -> None:
    inner = FakeResolver({})
    resolver = VettingResolver(inner)
    with pytest.raises(socket.gaierror):
        await resolver.resolve("nowhere.test", 80)
    await resolver.close()
    assert inner.closed


@pytest.mark.parametrize("name", LOOPBACK_SPELLINGS)
async def test_real_system_resolver_on_numeric_names_is_refused(name: str) -> None:
    """The system resolver really maps these to 127.0.0.1 (locally), and the vetting drops it."""
    with pytest.raises(DestinationRefused, match=r"127\.0\.0\.1"):
        await VettingResolver(ThreadedResolver()).resolve(name, 80, socket.AF_INET)
