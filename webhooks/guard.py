"""SSRF guard: a webhook URL must resolve only to public addresses, unless WEBHOOK_ALLOW_PRIVATE is on.

Checked when an endpoint is saved (a form error) and again on every delivery, where the request
then connects to the very address checked (webhooks/transport.py), so a DNS answer that changes
between the check and the connection cannot lead it inside.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

# Top-level names reserved never to resolve (RFC 2606, RFC 6761).
NEVER_RESOLVE = (".example", ".invalid")


class UrlRefused(Exception):
    """Why a webhook URL may not be called; the message is shown to the admin and in the delivery log."""


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # Only globally routable addresses: this also refuses carrier-grade NAT (100.64.0.0/10, where some
    # cloud metadata services live), NAT64 and documentation ranges, beside private and link-local ones.
    if isinstance(address, ipaddress.IPv6Address) and address in ipaddress.ip_network("64:ff9b::/96"):
        return True
    return not address.is_global or address.is_multicast


def url_addresses(url: str) -> tuple[str, int, list[str]]:
    """(host, port, addresses to connect to) for an http(s) URL; raises UrlRefused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("Use an http:// or https:// URL with a host name.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UrlRefused("The port in the URL is not a number from 1 to 65535.") from None
    try:
        if parts.hostname.rstrip(".").endswith(NEVER_RESOLVE):
            raise OSError("a reserved name")  # the demo's endpoints: refused without asking a resolver
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UrlRefused(f"The host {parts.hostname} could not be resolved.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not settings.WEBHOOK_ALLOW_PRIVATE:
        internal = [address for address in addresses if _internal(ipaddress.ip_address(address.split("%")[0]))]
        if internal:
            raise UrlRefused(
                f"{parts.hostname} resolves to an internal address ({internal[0]}): loopback, private and "
                "link-local addresses are refused (WEBHOOK_ALLOW_PRIVATE=true allows them)."
            )
    return parts.hostname, port, addresses
