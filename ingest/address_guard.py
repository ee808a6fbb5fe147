"""Only public addresses for the crawler: the rule, and the HTTP transport that keeps it.

    >>> transport = PublicTransport()                      # what WebClient uses
    >>> httpx.Client(transport=transport).get("https://hilfe.example.de/")
    >>> address_allowed("100.64.0.1")                      # shared address space
    False

Every connection the crawler opens (robots.txt, sitemaps, pages, every redirect hop) goes
through ``GuardedNetwork.connect_tcp``: the host is resolved once, every address it
resolves to must be a public unicast one, and the socket is opened to exactly those
checked addresses. Nothing resolves the name a second time, so a DNS answer that changes
between the check and the connection (rebinding) cannot move the crawler onto the
machine's own network. The name itself stays in the URL, so the Host header, TLS SNI and
the certificate check are the host's, as without the guard.

A refused connection raises ``AddressRefused``, whose text is only ``REFUSED``: nothing
was sent, so there is no answer to report, and the text is the same whether or not
anything listens at the address.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
from collections.abc import Callable, Iterable

import httpcore
import httpx

from kb.errors import Forbidden

log = logging.getLogger(__name__)

REFUSED = "refused: address not allowed"

# Special-purpose ranges (IANA registries) that are not globally reachable but that
# ``is_global`` passes on some Python versions (3.11 calls 192.0.0.8 and fec0::1 global);
# multicast and reserved are refused by their flags below.
_NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.88.99.0/24", "198.18.0.0/15",
    "fec0::/10", "64:ff9b:1::/48",
    "2002::/16",  # 6to4: a tunnel to whatever IPv4 address it embeds
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Resolver = Callable[[str, int], Iterable[str]]


class AddressRefused(Forbidden):
    """A connection to an address that is not public was refused before it was made."""

    def __init__(self) -> None:
        super().__init__(REFUSED)


def address_allowed(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address,
                    allow_loopback: bool = False) -> bool:
    """Whether the crawler may connect to ``address``: a global unicast address, or with
    ``allow_loopback`` also a loopback one (local test servers)."""
    try:
        ip = ipaddress.ip_address(str(address).split("%")[0])
    except ValueError:
        return False
    if ip.version == 6:
        # The IPv4 address inside decides: ::ffff:127.0.0.1 is the machine itself.
        if ip.ipv4_mapped is not None:
            return address_allowed(ip.ipv4_mapped, allow_loopback)
        if ip in _NAT64:  # translated by a gateway elsewhere: never this machine's loopback
            return address_allowed(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.is_loopback:
        return allow_loopback
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_private or \
            ip.is_link_local or ip.is_unspecified:
        return False
    return not any(ip in net for net in _NOT_PUBLIC if net.version == ip.version)


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives for ``host``, in its order, each once."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"host {host!r} not found") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedNetwork(httpcore.NetworkBackend):
    """An httpcore network that connects only to checked public addresses.

    ``resolver`` (host, port) -> addresses: the system's by default; tests give one that
    answers what they need. ``network``: what really opens a socket to a checked address
    (the operating system's by default; tests route addresses to local servers)."""

    def __init__(self, allow_loopback: bool = False, resolver: Resolver | None = None,
                 network: httpcore.NetworkBackend | None = None) -> None:
        self.allow_loopback = allow_loopback
        self.resolver = resolver or system_resolver
        self.network = network or httpcore.SyncBackend()

    def checked(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for ``host``, resolved once; refused when any of
        them is not public (a name that points inside as well is no public site)."""
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            addresses = list(self.resolver(host, port))
        if not addresses:
            raise httpcore.ConnectError(f"host {host!r} not found")
        for address in addresses:
            if not address_allowed(address, self.allow_loopback):
                log.warning("crawler refused %s:%s (resolves to %s, not a public address)",
                            host, port, address)
                raise AddressRefused()
        return addresses

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable | None = None) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in self.checked(host, port):
            try:
                return self.network.connect_tcp(address, port, timeout, local_address,
                                                socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # the next address of the host, as the system would
        assert failure is not None
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable | None = None) -> httpcore.NetworkStream:
        raise AddressRefused()

    def sleep(self, seconds: float) -> None:
        self.network.sleep(seconds)


class PublicTransport(httpx.HTTPTransport):
    """httpx's own transport over a ``GuardedNetwork``, without proxies (a proxy would
    resolve the name itself, out of the guard's sight). HTTP/1.1, certificates verified
    against the system's or certifi's authorities (``ssl_context`` for another)."""

    def __init__(self, allow_loopback: bool = False, resolver: Resolver | None = None,
                 network: httpcore.NetworkBackend | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        # Not HTTPTransport.__init__: it would build a pool on the operating system's
        # network, which this one replaces; handle_request and close use only _pool.
        self.network = GuardedNetwork(allow_loopback, resolver, network)
        limits = httpx.Limits()  # httpx's defaults
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, network_backend=self.network)
