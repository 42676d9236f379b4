"""Which addresses the fetcher may connect to: public ones only, unless the operator allows more.

A feed URL comes from a configuration file, an imported OPML file, or a redirect chosen by the
feed's server, so a feed can point the daemon at the machine it runs on or at its private
network (a database's HTTP port, a router, the cloud metadata service that hands out
credentials): server-side request forgery. As in Miniflux, fetching is refused by default for
loopback, private (RFC 1918, unique local IPv6), link-local, cloud metadata, unspecified,
multicast, shared (CGNAT) and reserved addresses. ``fetch.allow_private_networks = true`` lifts
the policy for operators who poll feeds on their own network.

How it is enforced, and why this way: the fetcher follows redirects itself, and for every hop
it resolves the host name once (``getaddrinfo``), checks *every* address it resolves to (a name
with one public and one private address is refused), and then sends the request to the checked
address itself: the URL it hands httpx carries the IP address, while the ``Host`` header and the
TLS server name (httpx's ``sni_hostname`` request extension, which httpcore also uses to verify
the certificate) stay the feed's host name. If that address refuses the connection the next
checked one is tried, as a resolver-ordered connect would. No second resolution happens between
the check and the connection, so DNS rebinding (a name that answers with a public address for
the check and a private one for the connection) cannot bypass it. Checking inside httpcore's
network backend would see the same address, but httpx offers no public way to install one;
checking the name before the request and letting httpx resolve it again would leave the
rebinding window open. (The fetcher's client has its own transport, so httpx takes no proxy
from the environment: every connection is a direct one to a checked address.)

IPv4 addresses embedded in IPv6 ones (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, NAT64
``64:ff9b::/96``) are judged by the IPv4 address they lead to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_KEY = "fetch.allow_private_networks"
# Instance metadata services (credentials and configuration of the machine): AWS, GCP and Azure
# (169.254.169.254, and AWS's IPv6 endpoint), AWS ECS task metadata, Alibaba Cloud, Oracle Cloud.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",
        "fd00:ec2::254",
        "169.254.170.2",
        "100.100.100.200",
        "192.0.0.192",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")


def _leads_to(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address embeds and delivers to, else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def blocked_kind(address: IPAddress) -> str | None:
    """What makes ``address`` internal ("a loopback address", ...), or None for a public one."""
    target = _leads_to(address)
    if address in METADATA_ADDRESSES or target in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if target.is_loopback:
        return "a loopback address"
    if target.is_unspecified:
        return "an unspecified address"
    if target.is_link_local:
        return "a link-local address"
    if target.is_multicast:
        return "a multicast address"
    if isinstance(target, ipaddress.IPv4Address) and target in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if target.is_private:
        return "a private address"
    if target.is_reserved or not target.is_global:
        return "a reserved address"
    return None


class BlockedAddress(Exception):
    """A fetch refused by the policy. ``str()`` says which address, why, and how to allow it."""

    def __init__(self, host: str, address: IPAddress, kind: str, *, redirected: bool = False):
        self.host = host
        self.address = address
        self.kind = kind
        self.redirected = redirected
        super().__init__(self.describe())

    def describe(self) -> str:
        shown = str(self.address)
        is_literal = self.host.strip("[]") == shown
        if self.redirected:
            where = "the feed redirects to " + (
                f"{shown}," if is_literal else f"{self.host}, which resolves to {shown},"
            )
        else:
            where = f"{shown} is" if is_literal else f"{self.host} resolves to {shown},"
        # Shown after the error class ("blocked: 127.0.0.1 is a loopback address; ...").
        return f"{where} {self.kind}; set {ALLOW_KEY} = true to poll internal feeds"

    def after_redirect(self) -> BlockedAddress:
        return BlockedAddress(self.host, self.address, self.kind, redirected=True)


Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
Classifier = Callable[[IPAddress], str | None]


async def system_resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` resolves to (``getaddrinfo``), in the resolver's order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # An IPv6 link-local answer may carry a zone ("fe80::1%eth0").
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


async def resolve_allowed(
    host: str,
    port: int,
    *,
    resolve: Resolver = system_resolve,
    classify: Classifier = blocked_kind,
) -> list[IPAddress]:
    """Resolve ``host`` once and check every address it resolves to; the addresses, all allowed.

    Raises :class:`BlockedAddress` if any address is internal, ``socket.gaierror`` if the name
    does not resolve. ``resolve`` and ``classify`` are the system resolver and
    :func:`blocked_kind` except in tests, which stand a loopback server in for a public host.
    """
    bare = host.strip("[]")
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(bare)]
    except ValueError:
        addresses = list(await resolve(bare, port))
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"{bare} resolves to no address")
    for address in addresses:
        kind = classify(address)
        if kind is not None:
            raise BlockedAddress(bare, address, kind)
    return addresses
