"""Sandbox fixtures, as a pytest plugin: ``pytest_plugins = ["tests.support.sandbox_fixtures"]``.

- ``sandbox``: an in-process :class:`~console.sandbox.Sandbox` (seed 7, 300 orders) on a
  :class:`~console.sandbox.ManualClock` frozen at :data:`FIXED_START`: nothing moves unless a
  test calls ``sandbox.advance(...)``, so every run sees the same fleet, byte for byte.
- ``sandbox_client``: an ``OrdersClient`` calling that sandbox in process. Its backoff sleeps
  are recorded in ``sandbox_sleeps`` instead of slept.
- ``served_sandbox``: the same kind of sandbox served by uvicorn on 127.0.0.1 (a free port, in
  a thread); yields ``ServedSandbox(base_url, sandbox)``. Each test gets a fresh sandbox; the
  server (uvicorn, its thread and port) is one per test process, since stopping uvicorn takes
  ~0.2 s, which was most of each such test's time.
- ``serve_sandbox``: ``serve_sandbox(sb)`` serves a sandbox the test built itself that way.
- ``sandbox_http``: a plain ``httpx.AsyncClient`` with the sandbox's credentials, for requests
  the client would refuse to build (``limit=abc``, a raw ``%2F`` path, ...).
- ``schema_validator``: :class:`~console.sandbox.contract.ContractValidator` over HyperTrack's
  reference schemas (read with the two documented adjustments).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timezone
from typing import NamedTuple

import httpx
import pytest

from console.sandbox import ManualClock, Sandbox
from console.sandbox.contract import ContractValidator, default_validator
from console.sandbox.defaults import IN_PROCESS_BASE_URL
from console.sandbox.server import serve_in_thread

FIXED_START = datetime(2026, 11, 29, 18, 30, tzinfo=timezone.utc)
SANDBOX_SEED = 7
SANDBOX_ORDERS = 300


class ServedSandbox(NamedTuple):
    base_url: str
    sandbox: Sandbox


def make_sandbox(orders: int = SANDBOX_ORDERS, seed: int = SANDBOX_SEED, start: datetime = FIXED_START) -> Sandbox:
    """A sandbox on a frozen manual clock (``sandbox.clock.advance`` or ``sandbox.advance`` moves it)."""
    return Sandbox(seed=seed, orders=orders, clock=ManualClock(start))


@pytest.fixture
def sandbox() -> Sandbox:
    return make_sandbox()


@pytest.fixture
def sandbox_sleeps() -> list[float]:
    return []


@pytest.fixture
async def sandbox_client(sandbox: Sandbox, sandbox_sleeps: list[float]) -> AsyncIterator[object]:
    async def fake_sleep(seconds: float) -> None:
        sandbox_sleeps.append(seconds)

    client = sandbox.client(sleep=fake_sleep)
    try:
        yield client
    finally:
        await client.aclose()


def raw_http(sb: Sandbox, *, auth: tuple[str, str] | None = None) -> httpx.AsyncClient:
    """An httpx client calling ``sb`` in process, with its credentials unless ``auth`` is given."""
    if auth is None:
        auth = (sb.credentials.account_id, sb.credentials.secret_key.get_secret_value())
    return httpx.AsyncClient(transport=sb.transport(), base_url=IN_PROCESS_BASE_URL, auth=auth)


@pytest.fixture
async def sandbox_http(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with raw_http(sandbox) as client:
        yield client


class _ServedSwitch:
    """What the shared server serves: an ASGI app that hands each request to the sandbox of the
    test running now (:attr:`sandbox`), so that no test sees another's orders, faults or stats."""

    def __init__(self) -> None:
        self.sandbox: Sandbox | None = None

    @property
    def app(self) -> "_ServedSwitch":  # serve_in_thread serves ``.app``, like a Sandbox's
        return self

    async def __call__(self, scope, receive, send) -> None:
        sandbox = self.sandbox
        if sandbox is None:
            raise RuntimeError("a request reached the shared sandbox server between tests")
        await sandbox.app(scope, receive, send)


@pytest.fixture(scope="session")
def _sandbox_server() -> Iterator[tuple[str, _ServedSwitch]]:
    switch = _ServedSwitch()
    with serve_in_thread(switch) as base_url:  # type: ignore[arg-type] - it only serves .app
        yield base_url, switch


@pytest.fixture
def serve_sandbox(_sandbox_server: tuple[str, _ServedSwitch]) -> Iterator[Callable[[Sandbox], str]]:
    """``serve_sandbox(sb)`` serves ``sb`` over loopback HTTP until the test ends; returns its
    base URL (the shared server's)."""
    base_url, switch = _sandbox_server

    def serve(sb: Sandbox) -> str:
        switch.sandbox = sb
        return base_url

    try:
        yield serve
    finally:
        switch.sandbox = None


@pytest.fixture
def served_sandbox(serve_sandbox: Callable[[Sandbox], str]) -> ServedSandbox:
    sb = make_sandbox()
    return ServedSandbox(serve_sandbox(sb), sb)


@pytest.fixture(scope="session")
def schema_validator() -> ContractValidator:
    return default_validator()
