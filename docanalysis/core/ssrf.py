"""Which URLs the server may reach on a client's behalf (documents by URL, webhook deliveries).

A client names a URL; the server fetches it from inside our network. Without rules that is a
door to what only the server can reach: the loopback interface, private ranges, the cloud's
metadata service (169.254.169.254). So: http and https only, no user:password@, and every
address the host resolves to must be public. Checking the name is not enough: a name can
resolve to a public address for the check and a private one for the connection (DNS
rebinding), so the check returns the addresses it checked and the caller connects to one of
them, never to the name.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from docanalysis.core.errors import DocAnalysisError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the addresses it resolves to; raises OSError when it resolves to none.
Resolver = Callable[[str, int], Sequence[str]]

SCHEMES = {"http": 80, "https": 443}
MAX_URL_LENGTH = 2000
# IPv6 forms that carry an IPv4 address the packet really goes to.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a site's own translator


class UrlRefused(DocAnalysisError):
    """The URL may not be fetched: its scheme, its form, or where it leads."""

    code = "url_refused"


class UrlUnresolvable(DocAnalysisError):
    """The URL's host name resolves to no address."""

    code = "url_unreachable"


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to `addresses[0]` and send `host` as the Host and TLS name."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]

    @property
    def address(self) -> str:
        return self.addresses[0]

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if SCHEMES[self.scheme] == self.port else f"{name}:{self.port}"


def resolve_host(host: str, port: int) -> list[str]:
    """Every address of `host` (IPv4 and IPv6), in the resolver's order."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def check_url(url: str, *, allow_private: bool, resolve: Resolver = resolve_host) -> Target:
    """The target to connect to, or UrlRefused (UrlUnresolvable when the name has no
    address). With `allow_private` (a setting, for a deployment whose documents live on its
    own network, and for tests) private and loopback addresses are allowed; addresses that
    are never a server (0.0.0.0, multicast) stay refused."""
    parts = _split(url)
    scheme, host, port = parts.scheme.lower(), _host(parts), _port(parts)
    try:
        addresses = [str(a).split("%", 1)[0] for a in resolve(host, port)]
    except (OSError, UnicodeError):
        raise UrlUnresolvable(f"the host {host} could not be resolved") from None
    if not addresses:
        raise UrlUnresolvable(f"the host {host} could not be resolved")
    for text in addresses:
        why = refusal(ipaddress.ip_address(text), allow_private=allow_private)
        if why:
            raise UrlRefused(f"{host} resolves to {text}, {why}: the server does not fetch it")
    return Target(url, scheme, host, port, tuple(addresses))


def _split(url: str) -> SplitResult:
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"a URL has at most {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 or c == "\\" for c in url):
        raise UrlRefused("the URL contains spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UrlRefused("the URL is not valid") from None
    if parts.scheme.lower() not in SCHEMES:
        raise UrlRefused("only http:// and https:// URLs are fetched")
    if "@" in parts.netloc:
        raise UrlRefused("a URL with a user name or password (user:pass@host) is not fetched")
    if not parts.hostname:
        raise UrlRefused("the URL names no host")
    return parts


def _host(parts: SplitResult) -> str:
    """The host as it goes on the wire (IDNA), for the resolver, Host header and TLS name."""
    try:
        return (parts.hostname or "").rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise UrlRefused("the URL's host name is not valid") from None


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:
        raise UrlRefused("the URL's port is not valid") from None
    return port if port is not None else SCHEMES[parts.scheme.lower()]


def refusal(address: Address, *, allow_private: bool = False) -> str:
    """Why the server may not connect to `address` ("" when it may). IPv6 forms that embed
    an IPv4 address (mapped, 6to4, NAT64) are judged by the address they embed."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return refusal(embedded, allow_private=allow_private)
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if allow_private:
        return ""
    for why, matches in _PRIVATE_KINDS:
        if matches(address):
            return why
    return ""


_PRIVATE_KINDS: tuple[tuple[str, Callable[[Address], bool]], ...] = (
    ("a loopback address", lambda a: a.is_loopback),
    ("a link-local address (such as a cloud metadata service)", lambda a: a.is_link_local),
    ("a local NAT64 address", lambda a: a in LOCAL_NAT64),
    ("a private address", lambda a: a.is_private),
    ("a reserved address", lambda a: a.is_reserved),
    ("a site-local address", lambda a: isinstance(a, ipaddress.IPv6Address) and a.is_site_local),
    ("not a public address", lambda a: not a.is_global),
)


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None
