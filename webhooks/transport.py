"""One webhook POST over http.client, to an address the SSRF guard checked; redirects are not followed."""

import http.client
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from webhooks.guard import url_addresses

RESPONSE_START_CHARS = 500


@dataclass(frozen=True)
class Answer:
    status: int
    body_start: str


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST `body` to `url`; raises UrlRefused (guard) or OSError / http.client errors (network)."""
    host, port, addresses = url_addresses(url)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, addresses[0], timeout)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        start = response.read(RESPONSE_START_CHARS * 4).decode("utf-8", "replace")[:RESPONSE_START_CHARS]
        return Answer(response.status, start)
    finally:
        connection.close()
