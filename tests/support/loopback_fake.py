"""The fake HyperTrack (tests/support/fake_hypertrack.py) served over real loopback HTTP.

A threaded ``http.server`` on 127.0.0.1 hands each request to ``FakeHyperTrack.handler`` (one at a
time, under a lock: the fake's table is plain dicts) and writes its answer on the socket. A fault
that loses the answer (the handler raises an httpx transport error: ``drop_after_apply``,
``disconnect_after_apply``, ``drop_before_apply``) closes the connection without a byte of
response, so the client sees what it would see on the wire: the server disconnected.

Faults that happen before a connection exists (``connect``, ``connect_timeout``, ``cert``) cannot
be produced by a server that accepted the connection; over loopback they come from a port
nothing listens on (:func:`closed_port_url`).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from pydantic import SecretStr

from console.api.client import OrdersClient
from console.api.credentials import Credentials
from console.api.retry import Backoff
from tests.support.fake_hypertrack import ACCOUNT, SECRET, TRUNCATE_HEADER, FakeHyperTrack

_SKIP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding", TRUNCATE_HEADER}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        request = httpx.Request(self.command, f"http://{self.headers.get('host', '127.0.0.1')}{self.path}",
                                headers=list(self.headers.items()), content=body)
        try:
            with self.server.lock:
                response = self.server.fake.handler(request)
        except httpx.TransportError:
            self.close_connection = True  # the answer is lost: nothing is written
            return
        content = response.content
        truncate = TRUNCATE_HEADER in response.headers
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in _SKIP_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if truncate:  # half the promised body, then the connection closes (F23)
            self.wfile.write(content[: len(content) // 2])
            self.close_connection = True
            return
        self.wfile.write(content)

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeHyperTrack) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.lock = threading.Lock()


@contextmanager
def served_fake(fake: FakeHyperTrack) -> Iterator[str]:
    """Serve ``fake`` on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    server = _Server(fake)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def loopback_client(fake: FakeHyperTrack, base_url: str, **options: Any) -> OrdersClient:
    """An ``OrdersClient`` for the served fake, sleeping on the fake's clock."""
    options.setdefault("sleep", fake.clock.sleep)
    options.setdefault("get_backoff", Backoff(base=0.1, cap=1.0, max_attempts=3))
    return OrdersClient(Credentials(ACCOUNT, SecretStr(SECRET)), base_url=base_url, **options)


def closed_port_url() -> str:
    """A loopback base URL nothing listens on (connections are refused: provably not sent)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
