"""The SSRF guard: internal addresses are refused unless WEBHOOK_ALLOW_PRIVATE is on."""

import socket

import pytest

from webhooks.guard import UrlRefused, url_addresses


@pytest.mark.parametrize(
    "url, address",
    [
        ("http://127.0.0.1:9000/hook", "127.0.0.1"),
        ("http://localhost/hook", None),
        ("http://10.1.2.3/hook", "10.1.2.3"),
        ("http://192.168.0.10/hook", "192.168.0.10"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[::1]/hook", "::1"),
        ("http://[::ffff:10.0.0.1]/hook", "::ffff:10.0.0.1"),
        ("http://0.0.0.0/hook", "0.0.0.0"),
        ("http://100.100.100.200/latest/meta-data/", "100.100.100.200"),  # carrier-grade NAT: a metadata service
        ("http://[64:ff9b::a9fe:a9fe]/hook", "64:ff9b::a9fe:a9fe"),  # NAT64 of 169.254.169.254
    ],
)
def test_internal_addresses_are_refused(url, address, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(UrlRefused, match="resolves to an internal address") as refused:
        url_addresses(url)
    if address:
        assert f"({address})" in str(refused.value)


def test_the_setting_allows_them(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert url_addresses("http://127.0.0.1:9000/hook") == ("127.0.0.1", 9000, ["127.0.0.1"])


def test_a_public_address_passes(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    assert url_addresses("https://93.184.215.14/hook") == ("93.184.215.14", 443, ["93.184.215.14"])


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://example.com/x", "Use an http:// or https:// URL with a host name."),
        ("http://:80/x", "Use an http:// or https:// URL with a host name."),
        ("http://example.com:99999/x", "The port in the URL is not a number from 1 to 65535."),
        ("http://no-such-host.invalid/x", "The host no-such-host.invalid could not be resolved."),
        ("https://crm.northwind.example/x", "The host crm.northwind.example could not be resolved."),
        ("http://gone.pulse-customer.com/x", "The host gone.pulse-customer.com could not be resolved."),
    ],
)
def test_bad_urls_are_refused_with_a_clear_message(url, message, monkeypatch):
    def no_such_host(*args, **kwargs):  # no resolver is asked: the test never leaves the machine
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    with pytest.raises(UrlRefused) as refused:
        url_addresses(url)
    assert str(refused.value) == message
