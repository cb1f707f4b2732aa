"""The SSRF rules: which URLs the server may fetch, judged on every address the host resolves
to, with a fake resolver (no DNS)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence

import pytest

from docanalysis.core.ssrf import Target, UrlRefused, UrlUnresolvable, check_url, refusal

PUBLIC = "93.184.216.34"


def resolver(*addresses: str) -> Callable[[str, int], Sequence[str]]:
    def resolve(host: str, port: int) -> Sequence[str]:
        return addresses

    return resolve


def literal(host: str, port: int) -> Sequence[str]:
    return [host]  # an address written in the URL resolves to itself


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address (such as a cloud metadata service)"),
        ("fe80::1", "a link-local address (such as a cloud metadata service)"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("2002:7f00:1::", "a loopback address"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "a link-local address (such as a cloud metadata service)"),
        ("64:ff9b:1::1", "a local NAT64 address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        ("fc00::1", "a private address"),
        (PUBLIC, ""),
        ("2606:4700:4700::1111", ""),
        ("::ffff:" + PUBLIC, ""),
    ],
)
def test_each_kind_of_address_has_its_verdict(address: str, why: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == why


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.pdf",
        "http://[::1]/a.pdf",
        "http://10.0.0.5/a.pdf",
        "http://172.16.3.4/a.pdf",
        "http://192.168.0.10/a.pdf",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/a.pdf",
        "http://0.0.0.0:8000/a.pdf",
    ],
)
def test_private_addresses_written_in_the_url_are_refused(url: str) -> None:
    with pytest.raises(UrlRefused, match="the server does not fetch it"):
        check_url(url, allow_private=False, resolve=literal)


def test_a_public_address_is_allowed_and_pinned() -> None:
    target = check_url(
        "https://docs.example.com:8443/c.pdf?v=2", allow_private=False, resolve=resolver(PUBLIC)
    )
    assert target == Target(
        "https://docs.example.com:8443/c.pdf?v=2",
        "https",
        "docs.example.com",
        8443,
        (PUBLIC,),
    )
    assert (target.address, target.host_header) == (PUBLIC, "docs.example.com:8443")
    plain = check_url(
        "http://docs.example.com/c.pdf", allow_private=False, resolve=resolver(PUBLIC)
    )
    assert (plain.port, plain.host_header) == (80, "docs.example.com")


def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    with pytest.raises(UrlRefused) as refused:
        check_url(
            "https://mixed.example.com/c.pdf",
            allow_private=False,
            resolve=resolver(PUBLIC, "10.0.0.7"),
        )
    assert refused.value.reason == (
        "mixed.example.com resolves to 10.0.0.7, a private address: the server does not fetch it"
    )
    assert refused.value.code == "url_refused"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://files.example.com/c.pdf", "only http:// and https:// URLs are fetched"),
        ("file:///etc/passwd", "only http:// and https:// URLs are fetched"),
        ("gopher://example.com/", "only http:// and https:// URLs are fetched"),
        ("https://user:pw@example.com/c.pdf", "a URL with a user name or password"),
        ("https://user@example.com/c.pdf", "a URL with a user name or password"),
        ("https:///c.pdf", "the URL names no host"),
        ("https://example.com:99999/c.pdf", "the URL's port is not valid"),
        ("https://example.com/a b.pdf", "the URL contains spaces"),
        ("https://example.com\\@10.0.0.1/", "the URL contains spaces"),
    ],
)
def test_schemes_other_than_http_and_user_info_are_refused(url: str, message: str) -> None:
    with pytest.raises(UrlRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_url(url, allow_private=False, resolve=resolver(PUBLIC))


def test_allow_private_opens_private_addresses_but_never_unspecified_or_multicast() -> None:
    target = check_url("http://127.0.0.1:8123/a.pdf", allow_private=True, resolve=literal)
    assert (target.address, target.port, target.host_header) == (
        "127.0.0.1",
        8123,
        "127.0.0.1:8123",
    )
    assert check_url("http://[::1]/", allow_private=True, resolve=literal).host_header == "[::1]"
    with pytest.raises(UrlRefused, match="an unspecified address"):
        check_url("http://0.0.0.0/", allow_private=True, resolve=literal)
    with pytest.raises(UrlRefused, match="a multicast address"):
        check_url("http://224.0.0.1/", allow_private=True, resolve=literal)


def test_a_name_that_resolves_to_nothing_is_unreachable_not_refused() -> None:
    def nowhere(host: str, port: int) -> Sequence[str]:
        raise OSError("Name or service not known")

    with pytest.raises(UrlUnresolvable) as unresolved:
        check_url("https://no-such-host.invalid/c.pdf", allow_private=False, resolve=nowhere)
    assert unresolved.value.code == "url_unreachable"
    with pytest.raises(UrlUnresolvable):
        check_url("https://empty.example.com/", allow_private=False, resolve=resolver())


def test_the_default_resolver_resolves_numeric_forms_before_judging_them() -> None:
    # 2130706433 and 0x7f.1 are 127.0.0.1 to the resolver, so they are judged as that.
    for url in ("http://2130706433/", "http://0x7f.1/", "http://localhost/"):
        with pytest.raises(UrlRefused, match="a loopback address"):
            check_url(url, allow_private=False)
