"""A shared corpus of hostile strings, and helpers to check what reached the screen.

Anyone with write access to a HyperTrack account can put any of these in an address, a metadata
value, a worker name or a handle. Import the corpus from any test::

    from tests.support.hostile import HOSTILE, shown

``HOSTILE`` maps a short name to the raw string; ``shown(raw)`` is what the console must display
for it: the string with control, bidi and invisible characters replaced by visible escapes
(``\\x1b``, ``\\u202e``), and every markup bracket kept literally. Nothing may be interpreted and
nothing may be lost.

The helpers at the end read what an app put on screen (plain text and SVG) without depending on
any particular widget.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from typing import Any

from console.api.sanitize import sanitize

#: The fake secret the leak tests plant; it must never appear in any output.
FAKE_ACCOUNT = "acct-hostile-0001"
FAKE_SECRET = "FAKE-SECRET-9f8e7d6c5b4a"

# --------------------------------------------------------------------------- the corpus

MARKUP: dict[str, str] = {
    # "[/oops]" raises MarkupError when parsed: an app crash.
    "close_tag": "[/oops]",
    "style": "[bold red]x[/]",
    # A live action: clicking it would quit the app.
    "click_action": "[@click=app.quit]x[/]",
    # An OSC 8 hyperlink to an attacker's site.
    "link": "[link=https://evil]x[/link]",
    # These two silently vanish when parsed as markup: the supervisor loses text.
    "todo": "[TODO]",
    "ltd": "Acme [Ltd]",
    "escaped_bracket": "a\\[b",
    "trailing_backslash": "end\\",
    "unclosed": "[bold",
    "variable": "$value [$x]",
}

ESCAPES: dict[str, str] = {
    # Clear the screen.
    "csi_clear": "\x1b[2J",
    # Retitle the terminal window (OSC 0 ended by BEL; OSC 2 ended by ST).
    "osc_title_bel": "\x1b]0;pwned\x07",
    "osc_title_st": "\x1b]2;pwned\x1b\\",
    # Write "evil" to the clipboard.
    "osc52_clipboard": "\x1b]52;c;ZXZpbA==\x07",
    # The one-byte C1 CSI: "\x9b2J" clears the screen on terminals that honour C1.
    "c1_csi": "\x9b2J",
    "del": "a\x7fb",
    "nul": "a\x00b",
    "backspace_overwrite": "safe\x08\x08\x08\x08evil",
    "carriage_return": "shown\rhidden",
}

UNICODE: dict[str, str] = {
    # Right-to-left override: "order-1\u202e9-x" can read as another handle.
    "bidi_rlo": "order-1\u202eevil",
    "bidi_isolate": "a\u2066b\u2069c",
    "zero_width": "ord\u200ber",
    "bom": "\ufeffstart",
    "line_separator": "one\u2028two",
    "emoji_wide": "📦 配達 🚚 café",
}

STRUCTURE: dict[str, str] = {
    # A forged log line: must stay on one line, escaped.
    "log_injection": "x\n2026-01-01 INFO fake entry",
    "tab": "a\tb",
}

LONG: dict[str, str] = {
    "long": "L" * 5000 + "[/end]",
}

HOSTILE: dict[str, str] = {**MARKUP, **ESCAPES, **UNICODE, **STRUCTURE, **LONG}

#: The corpus without the very long string: short enough to be shown whole in a widget.
SHORT_HOSTILE: dict[str, str] = {**MARKUP, **ESCAPES, **UNICODE, **STRUCTURE}

#: One string that carries a sample of every attack, for fields that hold a single value.
COMBINED = "[bold]B[/] \x1b]0;pwned\x07 \x1b[2J [/oops] \u202eR \x9b [@click=app.quit]q[/]"

#: Handles of each kind the client must refuse or encode.
BAD_HANDLES: dict[str, str] = {
    "empty": "",
    "space": " ",
    "padded": " a ",
    "crlf": "a\r\n",
    "tab_only": "\t",
    "esc": "a\x1bb",
    "nul": "a\x00b",
    "bidi": "a\u202eb",
    "zero_width": "a\u200bb",
    "too_long": "h" * 10_000,
    "dot": ".",
    "dotdot": "..",
    "enc_dotdot": "%2e%2e",
    "enc_dot_mixed": ".%2E",
    "double_enc_dotdot": "%252e%252e",
}

#: Handles that are legal but dangerous in a path: they must be encoded to reach only themselves.
TRICKY_HANDLES: list[str] = [
    "a/b", "a?b", "a#b", "a%2Fb", "../x", "a/../b", "a;b", "a b", "%41", "配達-1", "[bold]h[/]", "a\\b",
]


def shown(raw: str) -> str:
    """What the console must display for ``raw``: every unsafe character visibly escaped."""
    return sanitize(raw)


# --------------------------------------------------------------------------- checking output

# Characters that must never reach a terminal, a log or an SVG: C0 (except \n, \t), DEL, C1,
# bidi controls and other invisible format characters.
_RAW_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u2028\u2029]"
)


def raw_controls(text: str) -> list[str]:
    """The raw control/bidi characters in ``text`` (as escapes, for a readable failure)."""
    return sorted({repr(m.group()) for m in _RAW_CONTROL.finditer(text)})


def assert_no_raw_controls(text: str, where: str = "output") -> None:
    found = raw_controls(text)
    assert not found, f"raw control characters reached the {where}: {found}"


def check_svg(svg: str) -> ET.Element:
    """Parse an exported SVG screenshot as XML; fail on raw control characters in it."""
    assert_no_raw_controls(svg, "SVG screenshot")
    return ET.fromstring(svg)  # raises ParseError on invalid XML


def screen_text(app: Any) -> str:
    """The plain text of what the app's current screen would put on the terminal.

    Rendered the way ``App.export_screenshot`` does, but exported as text: rows end in ``\\n``.
    """
    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), force_terminal=True,
        color_system="truecolor", record=True, legacy_windows=False, safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)


def unwrapped(text: str) -> str:
    """Screen text with every line's box-drawing and padding removed and the lines joined, so a
    value that wrapped onto several rows can still be found whole."""
    parts = []
    for line in text.splitlines():
        parts.append(line.strip(" │┃║|▎▊▌▐▕▏▔▁─━═╭╮╰╯┌┐└┘"))
    return "".join(parts)


def leak_markers(account: str = FAKE_ACCOUNT, secret: str = FAKE_SECRET) -> dict[str, str]:
    """Every form in which a planted secret could leak."""
    import base64

    token = base64.b64encode(f"{account}:{secret}".encode()).decode("ascii")
    return {
        "secret": secret,
        # The random tail alone: catches a secret shortened by a repr ("FAKE-SECRET-9f8e...").
        "secret_tail": secret[-12:],
        "basic_token": token,
        "basic_token_prefix": token[:24],
        "basic_header": f"Basic {token}",
        "secret_urlencoded": secret.replace("-", "%2D"),
    }


def find_leaks(blob: str | bytes, **kwargs: str) -> list[str]:
    """The names of the leak markers found in ``blob`` (text or bytes)."""
    if isinstance(blob, bytes):
        blob = blob.decode("utf-8", "replace")
    return [name for name, marker in leak_markers(**kwargs).items() if marker in blob]


# --------------------------------------------------------------------------- hostile orders

#: A number too big for a float: ``distance / 1000`` raises OverflowError.
HUGE_INT = int("1" + "0" * 400)


def hostile_order(handle: str, text: str, *, status: str = "ongoing", **extra: Any) -> dict[str, Any]:
    """An order (as the API would send it) with ``text`` in every field a supervisor reads:
    worker and ops group, address, metadata keys and values, timeline events of an unknown type
    and of known types, region, planning failure reason."""
    order: dict[str, Any] = {
        "order_handle": handle,
        "status": status,
        "fulfillment_attempt": 0,
        "type": "drop",
        "type_index": 0,
        "ops_group_handle": text,
        "worker_handle": text,
        "worker_name": text,
        "driver_handle": text,
        "driver_name": text,
        "route_handle": text,
        "planning_failure_reason": text,
        "product_type": [text],
        "share_url": "https://share.example/" + text,
        "region": {"city": text, "state": text, "country": text},
        "metadata": {text: text, "note": text, "nested": {text: [text, 1]}},
        "destination": {
            "address": text,
            "geometry": {"type": "Point", "coordinates": [-122.4, 37.7]},
            "radius": 50,
        },
        "scheduled_at": "2026-01-01T10:00:00Z",
        "created_at": "2026-01-01T08:00:00Z",
        "risks": {"is_offline": "red", text: "yellow"},
        "timeline": [
            {"type": "order_created", "recorded_at": "2026-01-01T08:00:00Z", "metadata": {text: text}},
            {"type": "driver_activity_started", "recorded_at": "2026-01-01T08:30:00Z",
             "address": text, "activity": text, "driver_handle": text},
            {"type": text, "recorded_at": "2026-01-01T09:00:00Z", "note": text, text: text},
        ],
    }
    order.update(extra)
    return order


# --------------------------------------------------------------------------- loopback servers


class RecordedRequest:
    def __init__(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.raw_path = raw_path
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:  # never print the Authorization header, even in a failing test
        return f"RecordedRequest({self.method} {self.raw_path})"


class CraftedServer:
    """A real HTTP/1.1 server on 127.0.0.1 (a thread) answering with crafted bytes.

    ``respond(request) -> (status, headers, body)``; every request is recorded. Used where a
    MockTransport is not enough: a real socket, a real terminal, a separate process.
    """

    def __init__(self, respond: Any) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        outer = self
        self.respond = respond
        self.requests: list[RecordedRequest] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                req = RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
                outer.requests.append(req)
                status, headers, payload = outer.respond(req)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "CraftedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class Listener:
    """A loopback socket that accepts connections and records what arrives (a 'foreign host'
    or a hostile proxy). It never answers, so a client that connects fails visibly."""

    def __init__(self) -> None:
        import socket
        import threading

        self.received = bytearray()
        self.connections = 0
        self._probes = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import socket

        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            conn.settimeout(0.5)
            try:
                data = conn.recv(65536)
            except OSError:
                data = b""
            if data == self._PROBE:
                self._probes += 1  # settle()'s own connection: neither counted nor recorded
            else:
                self.connections += 1
                self.received.extend(data)
            conn.close()

    _PROBE = b"\0listener-settle\0"

    def settle(self, timeout: float = 10.0) -> None:
        """Return once every connection made before this call has been taken in and read.

        Connections are accepted in the order they arrive and read one at a time: once a probe
        connected after them has been seen, they have all been counted.
        """
        import socket
        import time

        seen = self._probes
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as probe:
            probe.sendall(self._PROBE)
            deadline = time.monotonic() + timeout
            while self._probes == seen:
                if time.monotonic() > deadline:
                    raise AssertionError("the listener never took its probe in")
                time.sleep(0.005)

    def __enter__(self) -> "Listener":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(1)
        self._sock.close()
