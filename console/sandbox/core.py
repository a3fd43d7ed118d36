"""The :class:`Sandbox`: a simulated HyperTrack Orders API to point the console at.

::

    sb = Sandbox(seed=7, orders=500, account_id="sandbox", secret_key="sandbox-secret", clock=None)
    sb.api            # the simulation: request in, response out (console.sandbox.app)
    sb.app            # the ASGI app (serve it with uvicorn, see console.sandbox.server)
    sb.transport()    # an httpx transport calling sb.api in process (no ASGI, no Starlette)
    sb.credentials    # console.api.Credentials the app accepts
    sb.faults         # fault knobs (console.sandbox.faults.Faults)
    sb.stats          # what the server received and applied (console.sandbox.stats.Stats)
    sb.advance(60)    # move the simulated fleet on (it also moves with the clock)
"""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
from itertools import count
from typing import TYPE_CHECKING, Any

from console.api.credentials import Credentials, Secret
from console.sandbox.app import SandboxAPI
from console.sandbox.clock import Clock, WallClock
from console.sandbox.defaults import DEFAULT_ACCOUNT_ID, DEFAULT_SECRET_KEY, IN_PROCESS_BASE_URL
from console.sandbox.faults import Faults
from console.sandbox.fleet import Fleet
from console.sandbox.order import SimOrder
from console.sandbox.rand import mix
from console.sandbox.stats import Stats

if TYPE_CHECKING:
    import httpx


class Sandbox:
    def __init__(
        self,
        seed: int = 7,
        orders: int = 500,
        account_id: str = DEFAULT_ACCOUNT_ID,
        secret_key: str = DEFAULT_SECRET_KEY,
        clock: Clock | None = None,
        faults: Faults | None = None,
        elsewhere: bool = False,
        speed: float = 1.0,
        epoch: float | None = None,
    ) -> None:
        if not account_id or not secret_key:
            raise ValueError("the sandbox needs an account id and a secret key")
        self.seed = seed
        self.clock: Clock = clock if clock is not None else WallClock(speed, epoch)
        self._offset = 0.0
        self.lock = threading.RLock()
        self.fleet = Fleet(seed, orders, self.clock())
        if elsewhere:  # a supervisor in another office reassigns and cancels now and then
            from console.sandbox.transitions import start_elsewhere

            start_elsewhere(self.fleet)
        self.faults = faults if faults is not None else Faults(seed)
        self.stats = Stats()
        self.credentials = Credentials(account_id, Secret(secret_key))
        self._expected_auth = self.credentials.basic_value()
        self._request_ids = count(1)
        self.api = SandboxAPI(self)
        self._asgi: Any = None

    def __repr__(self) -> str:
        return f"Sandbox(seed={self.seed}, orders={len(self.fleet.ordered)}, account_id={self.credentials.account_id!r})"

    # ------------------------------------------------------------------ time

    def now(self) -> float:
        """Simulated UNIX time: the clock plus whatever :meth:`advance` added."""
        return self.clock() + self._offset

    def sync(self) -> float:
        """Bring the fleet up to the current simulated time; returns that time."""
        with self.lock:
            t = self.now()
            self.fleet.advance_to(t)
            return max(t, self.fleet.now)

    def advance(self, seconds: float) -> None:
        """Move the simulated fleet ``seconds`` on."""
        if seconds < 0:
            raise ValueError("the sandbox does not go back in time")
        with self.lock:
            self._offset += seconds
            self.sync()

    # ------------------------------------------------------------------ clients

    @property
    def app(self) -> Any:
        """The ASGI app, made on first use: only serving over HTTP needs it (and Starlette)."""
        if self._asgi is None:
            from console.sandbox.asgi import SandboxASGI

            self._asgi = SandboxASGI(self.api)
        return self._asgi

    @app.setter
    def app(self, value: Any) -> None:
        """Serve another ASGI app (e.g. a middleware wrapping this one's) over HTTP instead."""
        self._asgi = value

    def transport(self) -> httpx.AsyncBaseTransport:
        # httpx only here: the sandbox's own process (console/sandbox/serve_socket.py) needs none.
        from console.sandbox.transport import SandboxTransport

        return SandboxTransport(self.api)

    def client(self, **kwargs: Any) -> Any:
        """An ``OrdersClient`` talking to this sandbox in process."""
        from console.api.client import OrdersClient

        kwargs.setdefault("base_url", IN_PROCESS_BASE_URL)
        return OrdersClient(self.credentials, transport=self.transport(), **kwargs)

    # ------------------------------------------------------------------ conveniences for tests

    def order(self, handle: str, type: str | None = None, type_index: int | None = None,
              fulfillment_attempt: int | None = None) -> SimOrder | None:
        with self.lock:
            self.sync()
            return self.fleet.lookup(handle, type, type_index, fulfillment_attempt)

    def orders(self, status: str | None = None) -> list[SimOrder]:
        with self.lock:
            self.sync()
            return [o for o in self.fleet.ordered if status is None or o.status == status]

    def add_order(self, handle: str, **kwargs: Any) -> SimOrder:
        with self.lock:
            self.sync()
            return self.fleet.add_order(handle, **kwargs)

    # ------------------------------------------------------------------ used by the app

    def check_authorization(self, header: bytes | None) -> bool:
        """True for ``Basic base64(account:secret)`` with this sandbox's credentials."""
        if not header:
            return False
        try:
            scheme, _, token = header.decode("latin-1").partition(" ")
            if scheme.lower() != "basic":
                return False
            account, sep, secret = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return False
        expected_secret = self.credentials.secret_key.get_secret_value()
        return bool(sep) & hmac.compare_digest(account.encode(), self.credentials.account_id.encode()) & \
            hmac.compare_digest(secret.encode(), expected_secret.encode())

    def next_request_id(self) -> str:
        """An ``apigw-requestid``-style id: unique per request, deterministic per seed."""
        n = next(self._request_ids)
        raw = mix(self.seed, 97, n).to_bytes(8, "big") + n.to_bytes(4, "big")[1:]
        return base64.b64encode(raw).decode("ascii")
