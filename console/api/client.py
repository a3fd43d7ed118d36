"""The async HyperTrack Orders client. Knows nothing of Textual.

One pooled ``httpx.AsyncClient`` is injected (or built here around an injectable transport, the
way httpx's own ``MockTransport`` is meant to be used). Rules the client enforces:

- HTTPS with certificate verification, except plain HTTP to a loopback host (the sandbox);
  redirects are never followed; proxies from the environment are ignored (``trust_env=False``).
- Responses are read with a size cap and parsed by pydantic-core (no RecursionError on deep
  nesting, finite numbers only): into full models, or, for the list and for bulk completions,
  into the list row's summary (:mod:`console.api.summaries`).
- Per-order paths come only from :func:`console.api.handles.order_path`, and the final raw path
  of every request is checked against it before sending.
- GETs are retried with capped, jittered backoff that honours ``Retry-After``. A POST is never
  re-sent here: an outcome in doubt is raised as :class:`OutcomeInDoubt`, :class:`ServerError`
  or :class:`MalformedResponse` (all with ``may_have_applied``) for the caller to settle with a GET.
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
import json
import random
import ssl
import sys
import time
import zlib
from datetime import datetime
from email.utils import parsedate_to_datetime
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic_core import ValidationError

from console.api import errors
from console.api.credentials import Credentials
from console.api.decoding import ACCEPT_ENCODING, BoundedDecoder, UnsupportedEncoding
from console.api.handles import order_path
from console.api.vocab import FILTERABLE_STATUSES, ORDER_STATUSES, ORDER_TYPES, OrderRef
from console.api.free_json import parse_error_body
from console.api.retry import Backoff, parse_retry_after
from console.api.sanitize import has_unsafe_characters, sanitize
from console.api.timestamps import iso_utc
from console.api.summaries import (  # noqa: F401 - OrderSummary: what the pages hold
    ItemPage,
    OrderSummary,
    SummaryPage,
    SummaryPageReader,
    collector_paused,
    item_identity,
    parse_item_page,
    parse_order_summary,
)

if TYPE_CHECKING:
    from console.api.models import Order, OrderPage

# The full pydantic models (console.api.models) are imported where an order is read whole (a
# GET, a completion's answer, iter_pages), not with this module: building them costs ~150 ms,
# and the console's first rows come through the list's lean path (console.api.summaries).
MODELS_MODULE = "console.api.models"

#: What an action's answer is read into: the full order, or the list row's summary of it.
_Answer = TypeVar("_Answer", "Order", OrderSummary)


async def _models_loaded() -> None:
    """Import the full models on a thread the first time, never on the caller's event loop:
    imported there (the detail pane's first GET), they held every key pressed meanwhile for
    ~120 ms while 50k orders loaded (measured). On a thread Python hands the GIL back to the
    loop every few milliseconds, and the import lock makes any other importer wait for the
    one import rather than run a second."""
    if MODELS_MODULE not in sys.modules:
        await asyncio.to_thread(importlib.import_module, MODELS_MODULE)

DEFAULT_BASE_URL = "https://v3.api.hypertrack.com"
DEFAULT_PAGE_LIMIT = 100
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
# An error body is only read for its message: the rest of a large one is not worth memory, and
# a huge 404/500 page must still be classified by its status.
MAX_ERROR_BODY_BYTES = 64 * 1024
# A whole attempt (connect, send, every byte of the answer) gets this long: httpx's read timeout
# is per chunk, so a server dripping one byte a second would otherwise hold a request forever.
DEFAULT_ATTEMPT_TIMEOUT = 45.0
MAX_PAGES = 100_000
PARSE_IN_THREAD_BYTES = 128 * 1024
#: List items read into summaries per step of :meth:`OrdersClient.iter_summary_pages`: ~2-5 ms
#: a step here, the longest a key pressed meanwhile waits for it (250 took up to 10 ms).
SUMMARY_STEP = 125
#: The open set's window (hours): the orders the list's ``status`` filter cannot name
#: (``dispatched``, ``summarizing``) are looked for among the orders created this long before
#: the server's "now" (see :meth:`OrdersClient.open_set_queries`). 0: no window, the whole history.
DEFAULT_OPEN_SET_WINDOW_HOURS = 48.0
MAX_OPEN_SET_WINDOW_HOURS = 24 * 30
#: The documented list filter that bounds the query for those statuses, and its format
#: (``YYYY-MM-DD HH:mm:ss``, no zone: sent in UTC).
OPEN_SET_DATE_FILTER = "created_at_from"
_LIST_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
REQUEST_ID_HEADERS = ("apigw-requestid", "x-request-id", "x-amzn-requestid")
# Never hold a GET longer than this on a server's Retry-After; beyond it the error is raised.
MAX_GET_RETRY_AFTER = 30.0

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=10.0, pool=10.0)

Sleep = Callable[[float], Awaitable[None]]


class _HasToken(Protocol):
    pagination_token: str | None


_Page = TypeVar("_Page", bound=_HasToken)


def is_loopback_host(host: str) -> bool:
    """True for a loopback IP literal (127.0.0.0/8, ``::1``) or exactly ``localhost``.

    Judged from the spelling alone, with no lookup: any other name (``evil.localhost``,
    ``localhost.evil.com``, ``127.0.0.1.nip.io``) is answered by whoever controls its DNS. Even
    ``localhost`` is looked up when connecting, so the address actually connected to is checked
    too (:func:`require_loopback_peer`). Shorthand forms the resolver would expand (``127.1``,
    ``2130706433``) and IPv4-mapped IPv6 are not literals here: refused.
    """
    host = host.lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host == "localhost":
        return True
    return _is_loopback_ip(host)


def _is_loopback_ip(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


async def require_loopback_peer(event: str, info: dict[str, Any]) -> None:
    """httpcore ``trace`` hook of every plain-http request: a new connection must lead to a
    loopback address, else it is closed before a byte of the request (its Authorization header
    included) is written, and InvalidRequest is raised.

    httpcore calls it after the TCP connect and before sending on that connection; a pooled
    connection is reused only after it passed here. A peer address that cannot be read is
    refused (fail closed). Transports that make no TCP connection (the sandbox in process, a
    MockTransport) never call it.
    """
    if event != "connection.connect_tcp.complete":
        return
    stream = info.get("return_value")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    address = peer[0] if isinstance(peer, tuple) and peer and isinstance(peer[0], str) else None
    if address is not None and _is_loopback_ip(address):
        return
    if stream is not None:
        await stream.aclose()
    shown = sanitize(address) if address is not None else "an unknown address"
    raise errors.InvalidRequest(
        f"refusing plain http: the server's name led to {shown}, which is not a loopback address;"
        " nothing was sent (plain http is only for this machine: use https for any other host)"
    )


def check_base_url(base_url: str) -> str:
    """Return the base URL without a trailing slash, or raise InvalidRequest.

    Non-loopback hosts must use HTTPS: the secret grants full access to the account.
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.InvalidRequest(f"the base URL must be http(s)://host, not '{sanitize(base_url)}'")
    if parts.username or parts.password:
        raise errors.InvalidRequest("the base URL must not carry credentials")
    if parts.query or parts.fragment:
        raise errors.InvalidRequest("the base URL must not have a query or fragment")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise errors.InvalidRequest(
            f"plain http is only allowed for loopback hosts; use https://{sanitize(parts.netloc)}"
        )
    return base_url.rstrip("/")


class BasicAuth(httpx.Auth):
    """httpx auth that adds the Basic header at send time; the header value never sits in a
    plain local of ours, and httpx's ``Headers`` repr already masks ``Authorization``."""

    def __init__(self, credentials: Credentials) -> None:
        self._value = credentials.basic_value()

    def __repr__(self) -> str:
        return "BasicAuth(<redacted>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._value.get_secret_value()
        yield request


class OrdersClient:
    """Typed access to the four Orders operations the console uses."""

    def __init__(
        self,
        credentials: Credentials | None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_connections: int = 20,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        get_backoff: Backoff = Backoff(),
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        attempt_timeout: float | None = DEFAULT_ATTEMPT_TIMEOUT,
        open_set_window_hours: float = DEFAULT_OPEN_SET_WINDOW_HOURS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = check_base_url(base_url)
        self.open_set_window_hours = check_open_set_window(open_set_window_hours)
        self._clock = clock
        #: The server's clock minus ours, from the ``Date`` header of its list answers (None:
        #: not known yet). The open set's window is measured on the server's clock.
        self._server_offset: float | None = None
        # Plain http passed check_base_url only for a loopback host: every request also checks
        # that the connection it makes is to a loopback address.
        self._check_peer = urlsplit(self.base_url).scheme == "http"
        # As httpx will send it (percent-encoded), so the path check below compares like with like.
        self._base_raw_path = httpx.URL(self.base_url).raw_path.rstrip(b"/")
        self.account_id = credentials.account_id if credentials else None
        self._auth = BasicAuth(credentials) if credentials else None
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            verify=True,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={
                "Accept": "application/json",
                "User-Agent": "dispatch-console",
                # Only what BoundedDecoder can inflate with a memory bound (no br/zstd).
                "Accept-Encoding": ACCEPT_ENCODING,
            },
        )
        self.max_response_bytes = max_response_bytes
        self.attempt_timeout = attempt_timeout
        self.get_backoff = get_backoff
        self._sleep = sleep
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"OrdersClient(base_url={self.base_url!r}, account_id={self.account_id!r})"

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> "OrdersClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ operations

    async def iter_pages(
        self,
        *,
        status: str | Iterable[str] | None = None,
        ops_group_handle: str | None = None,
        search_term: str | None = None,
        worker_handle: str | None = None,
        risk_status: str | None = None,
        limit: int | None = DEFAULT_PAGE_LIMIT,
        sort_direction: str | None = None,
        next_limit: int | None = None,
    ) -> AsyncIterator[OrderPage]:
        """Yield every page of ``GET /orders/`` as full :class:`Order` models, following
        ``pagination_token`` to the end.

        ``next_limit``: the page size asked for after the first page. A screen wants its first
        rows fast (a small first page) and then the rest in few round trips (each page costs a
        request, a parse and a redraw: 500 pages of 100 for 50k orders, 50 of 1,000). HyperTrack
        documents no maximum ``limit``: if the server refuses the bigger size (422), that page is
        asked for again at ``limit`` and the rest stay at ``limit``.

        ``status``: any order status, filterable or not (see :meth:`open_set_queries`: the
        ones the filter cannot name are read from the recent orders only); a page may then hold
        fewer orders than ``limit``, or none, and still have a next page.

        A list screen wants :meth:`iter_summary_pages`: the full models cost several times more.
        """
        await _models_loaded()
        from console.api.models import parse_order_page

        def parser(keep: frozenset[str] | None, _skip: Any) -> Callable[[bytes], Awaitable[OrderPage]]:
            async def parse(body: bytes) -> OrderPage:
                if len(body) > PARSE_IN_THREAD_BYTES:
                    # Validating a big page takes tens of milliseconds of CPU: off the event loop.
                    page = await asyncio.to_thread(parse_order_page, body)
                else:
                    page = parse_order_page(body)
                if keep is not None:
                    page.orders[:] = [order for order in page.orders if order.status in keep]
                return page
            return parse

        filters = dict(ops_group_handle=ops_group_handle, search_term=search_term,
                       worker_handle=worker_handle, risk_status=risk_status, limit=limit,
                       sort_direction=sort_direction)
        async for page, _ in self._list_pages(status, filters, next_limit, parser):
            yield page

    async def iter_summary_pages(
        self,
        *,
        status: str | Iterable[str] | None = None,
        ops_group_handle: str | None = None,
        search_term: str | None = None,
        worker_handle: str | None = None,
        risk_status: str | None = None,
        limit: int | None = DEFAULT_PAGE_LIMIT,
        sort_direction: str | None = None,
        next_limit: int | None = None,
        step: int = SUMMARY_STEP,
        pause: float | Callable[[], Awaitable[None]] = 0.0,
    ) -> AsyncIterator[SummaryPage]:
        """Like :meth:`iter_pages`, but each item is read into an :class:`OrderSummary` (what a
        list row shows; see :mod:`console.api.summaries`), several times cheaper than an Order.

        The reading runs on the event loop in small steps: the JSON parse, then ``step`` items
        at a time, with a yield to the loop between steps, so that a caller's UI keeps answering
        keys while 1,000-order pages arrive. (A thread would not help: the parser and the
        validator hold the GIL for their whole call.)

        ``pause``: seconds to sleep between steps instead of only yielding. A bare yield puts
        this reading straight back in the loop's queue, so every hop of a key's way to the
        screen (several loop turns) waits behind one more step; a short sleep lets the whole
        hop chain run first, for a small cost in load time. Or an async callable awaited
        between steps instead: the caller decides how long the reading waits (a UI lets the
        keys pending go first, see ``OrderList.pace``).

        ``status`` as in :meth:`iter_pages`: the orders of other statuses are dropped as each
        page is read, before any of them is type-checked or summarized.
        """
        async def between_steps() -> None:
            await (pause() if callable(pause) else asyncio.sleep(pause))

        def parser(keep: frozenset[str] | None, skip: Any) -> Callable[[bytes], Awaitable[SummaryPage]]:
            async def parse(body: bytes) -> SummaryPage:
                with collector_paused():  # see there: the page's JSON is never walked by the GC
                    reader = SummaryPageReader(body, keep=keep, skip=skip)
                    while not reader.done:
                        await between_steps()
                        reader.read(step)
                return reader.page
            return parse

        filters = dict(ops_group_handle=ops_group_handle, search_term=search_term,
                       worker_handle=worker_handle, risk_status=risk_status, limit=limit,
                       sort_direction=sort_direction)
        # A page filtered on this side keeps only some of its orders. After the first page
        # (yielded at once: the first rows), such pages are joined until they hold a full page
        # of kept orders, so a caller sees as many pages as a server-side filter would give it
        # (a list screen pays a redraw and a merge per page, not per order).
        size = next_limit or limit or DEFAULT_PAGE_LIMIT
        pending: SummaryPage | None = None
        first = True
        async for page, filtered_here in self._list_pages(status, filters, next_limit, parser):
            if first or not filtered_here:
                first = False
                if pending is not None:
                    yield pending
                    pending = None
                yield page
                continue
            if pending is None:
                pending = page
            else:
                pending.orders.extend(page.orders)
                pending.skipped.extend(page.skipped)
                pending.pagination_token = page.pagination_token
            if len(pending.orders) >= size or not page.pagination_token:
                yield pending
                pending = None
        if pending is not None:
            yield pending

    async def iter_item_pages(
        self,
        *,
        status: str | Iterable[str] | None = None,
        ops_group_handle: str | None = None,
        search_term: str | None = None,
        worker_handle: str | None = None,
        limit: int | None = DEFAULT_PAGE_LIMIT,
        next_limit: int | None = None,
    ) -> AsyncIterator[ItemPage]:
        """Every page of ``GET /orders/`` as the API's own JSON objects, unvalidated and not
        sanitized (see :class:`~console.api.summaries.ItemPage`): for output that must keep the
        data exact. ``status`` as in :meth:`iter_pages`.
        """
        def parser(keep: frozenset[str] | None, skip: Any) -> Callable[[bytes], Awaitable[ItemPage]]:
            async def parse(body: bytes) -> ItemPage:
                return parse_item_page(body, keep=keep, skip=skip)
            return parse

        filters = dict(ops_group_handle=ops_group_handle, search_term=search_term,
                       worker_handle=worker_handle, limit=limit)
        async for page, _ in self._list_pages(status, filters, next_limit, parser):
            yield page

    def open_set_queries(self, status: str | Iterable[str] | None) -> list[tuple[str | None, frozenset[str] | None, bool]]:
        """How the orders of ``status`` are read: one ``(status filter sent, statuses kept on
        this side, bounded to the window)`` per query, run in this order.

        Statuses the list filter can name are filtered by the server. The others
        (``dispatched``, ``summarizing``) cannot be named: they are read from a query without
        a ``status`` filter, bounded by ``created_at_from`` to the orders created within
        :attr:`open_set_window_hours` (so its cost is the recent orders, not the account's
        whole history), keeping on this side only the statuses asked for. An order the first
        query already gave is not given again. With a window of 0, one unfiltered query reads
        the whole history (every such order, whatever its age).
        """
        sent, keep = status_query(status)
        if keep is None or not self.open_set_window_hours:
            return [(sent, keep, False)]
        queries: list[tuple[str | None, frozenset[str] | None, bool]] = []
        named = [s for s in ORDER_STATUSES if s in keep and s in FILTERABLE_STATUSES]
        if named:
            queries.append((",".join(named), None, False))
        queries.append((None, keep, True))
        return queries

    async def _list_pages(
        self, status: str | Iterable[str] | None, filters: dict[str, Any], next_limit: int | None,
        parser: Callable[[frozenset[str] | None, Any], Callable[[bytes], Awaitable[_Page]]],
    ) -> AsyncIterator[tuple[_Page, bool]]:
        """The pages of the queries :meth:`open_set_queries` plans, each with whether it was
        filtered on this side; merged by order identity (handle, type, type_index,
        fulfillment_attempt): the window's query drops the orders an earlier query gave (as
        raw items when the parser can, before they are read; and again once read)."""
        queries = self.open_set_queries(status)
        seen: set[Any] | None = set() if len(queries) > 1 else None
        for index, (sent, keep, windowed) in enumerate(queries):
            if index and next_limit is not None:
                # Only the very first page is kept small (the first rows): a later query's
                # first page is no one's first rows.
                filters = {**filters, "limit": next_limit}
            params = list_params(status=sent, **filters)
            if windowed:
                params[OPEN_SET_DATE_FILTER] = await self.window_start()
            skip = seen if windowed else None
            async for page in self._paginate(params, next_limit, parser(keep, skip)):
                if seen is not None:
                    items = _page_items(page)
                    if windowed:
                        items[:] = [x for x in items if (key := _identity(x)) is None or key not in seen]
                    else:
                        seen.update(key for x in items if (key := _identity(x)) is not None)
                yield page, keep is not None

    async def window_start(self) -> str:
        """The ``created_at_from`` of the open set's window, as the list filter takes it: the
        server's "now" (our clock corrected by the server's ``Date``) less the window, in UTC.
        Before any answer from this server, one small list request learns its clock."""
        if self._server_offset is None:
            _, response = await self._get("/orders/", {"limit": 1})
            self._note_server_time(response)
        now = self._clock() + (self._server_offset or 0.0)
        return time.strftime(_LIST_DATE_FORMAT, time.gmtime(now - self.open_set_window_hours * 3600))

    def _note_server_time(self, response: httpx.Response) -> None:
        value = response.headers.get("date")
        try:
            server = parsedate_to_datetime(value).timestamp() if value else None
        except (TypeError, ValueError, IndexError, OverflowError):
            server = None
        if server is not None:
            self._server_offset = server - self._clock()
        elif self._server_offset is None:
            self._server_offset = 0.0  # no usable Date: our own clock

    async def _paginate(
        self, params: dict[str, Any], next_limit: int | None,
        parse: Callable[[bytes], Awaitable[_Page]],
    ) -> AsyncIterator[_Page]:
        """The pages of ``GET /orders/`` with ``params``, each read by ``parse``."""
        if next_limit is not None:
            list_params(limit=next_limit)  # validated like limit
        token: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page_params = dict(params)
            if token is not None:
                page_params["pagination_token"] = token
                if next_limit is not None:
                    page_params["limit"] = next_limit
            try:
                body, response = await self._get("/orders/", page_params)
            except errors.ValidationFailed:
                if token is None or next_limit is None:
                    raise
                next_limit = None  # this server does not take that size: back to `limit`
                page_params["limit"] = params.get("limit")
                if page_params["limit"] is None:
                    del page_params["limit"]
                body, response = await self._get("/orders/", page_params)
            try:
                page = await parse(body)
            except ValueError as exc:  # pydantic's ValidationError, or not JSON at all
                problems = exc.error_count() if isinstance(exc, ValidationError) else 1
                raise errors.MalformedResponse(
                    f"the order list is not valid: {problems} problem(s)",
                    status_code=response.status_code, request_id=_request_id(response),
                ) from None
            self._note_server_time(response)
            # Not held while the caller works on the page: a caller may freeze the garbage
            # collector's view of the heap (console/gc_policy.py), and the response is cyclic.
            del body, response
            yield page
            token = page.pagination_token
            if not token:
                return
            if token in seen:
                raise errors.MalformedResponse("the server repeated a pagination token (a loop)")
            seen.add(token)
        raise errors.MalformedResponse(f"more than {MAX_PAGES} pages: stopped")

    async def list_orders(self, **filters: Any) -> list[Order]:
        """Every order matching the filters, all pages, as full models."""
        orders: list[Order] = []
        async for page in self.iter_pages(**filters):
            orders.extend(page.orders)
        return orders

    async def get_order(self, handle: str, *, fulfillment_attempt: int | None = None) -> Order:
        """``GET /orders/{order_handle}``: the full order with timeline and polyline."""
        params = _action_params(None, None, fulfillment_attempt)
        body, response = await self._get(order_path(handle), params)
        await _models_loaded()
        return self._parse_order_for(handle, body, response)

    async def legs(self, handle: str) -> list[OrderSummary]:
        """Every leg and attempt of ``handle`` the list knows, as summaries (exact handle only).

        ``GET /orders/?search_term=<handle>``, every page: the search also matches ops groups,
        workers and metadata, so the items are filtered to this handle. A list item carries the
        leg identity (``type``, ``type_index``, ``fulfillment_attempt``), which is what
        ``GET /orders/{h}`` cannot be asked for. Its cost is the number of pages the search
        matches: one for a distinctive handle.
        """
        found: list[OrderSummary] = []
        async for page in self.iter_summary_pages(search_term=handle):
            found.extend(item for item in page.orders if item.ref.order_handle == handle)
        return found

    async def get_leg(self, ref: OrderRef) -> Order | OrderSummary:
        """The current state of exactly ``ref``'s leg and attempt.

        ``GET /orders/{h}`` first: the full order, when it answers with ``ref``'s leg (always for
        a handle with one leg). When it answers with another leg of the handle, the list searched
        by the handle finds ``ref``'s (:meth:`legs`), as a summary: status, times, worker and
        risks, no timeline. Raises :class:`NotFoundError` when the handle has no such leg, so an
        answer about another leg is never taken for this one's.
        """
        order = await self.get_order(ref.order_handle, fulfillment_attempt=ref.fulfillment_attempt)
        if ref.same_leg(order.ref):
            return order
        for leg in await self.legs(ref.order_handle):
            if ref.same_leg(leg.ref):
                return leg
        raise errors.NotFoundError(404, f"the handle has no {ref.leg_words()} leg")

    async def complete_order(
        self,
        handle: str,
        *,
        type: str | None = None,
        type_index: int | None = None,
        fulfillment_attempt: int | None = None,
    ) -> Order:
        """``POST /orders/{order_handle}/complete``. Sent exactly once; never retried here."""
        return await self._action(handle, "complete", "completed", type, type_index, fulfillment_attempt)

    async def cancel_order(
        self,
        handle: str,
        *,
        type: str | None = None,
        type_index: int | None = None,
        fulfillment_attempt: int | None = None,
    ) -> Order:
        """``POST /orders/{order_handle}/cancel``. Sent exactly once; never retried here."""
        return await self._action(handle, "cancel", "cancelled", type, type_index, fulfillment_attempt)

    async def complete(self, ref: OrderRef) -> Order:
        return await self.complete_order(ref.order_handle, **ref.action_params())

    async def complete_summary(self, ref: OrderRef) -> OrderSummary:
        """:meth:`complete`, with the answer read as the order's list summary, not a full Order.

        For callers that complete many orders and keep only the outcome (the bulk engine keeps
        the status and completion time). The answer is checked as :meth:`complete_order` checks
        it (strict JSON, one order object, the handle asked for, status ``completed``, no key
        repeated), but of the order's fields only those a list row uses are type-checked, as on
        the list's lean path: the full validation cost ~4x as much CPU per answer, which at
        concurrency 8 was most of what the engine added to the network's own time. Sent exactly
        once; never retried here.
        """
        return await self._action_summary(ref, "complete", {}, expected_status="completed")

    # The other write actions. Each is sent exactly once and never retried here; the answer is
    # read as the order's list summary (see complete_summary) and checked to be one valid order,
    # the handle asked for, no key repeated. Whether it shows the action's end state is left to
    # the caller (console.bulk.actions judges it, as it judges a read-back): for reassign and
    # reschedule that state depends on the parameters, and for reschedule of a dispatched order
    # the documented answer is a re-created, unplanned order.

    async def cancel_summary(self, ref: OrderRef, reason: str | None = None) -> OrderSummary:
        """``POST /orders/{order_handle}/cancel``: an empty body, or with ``reason`` the body
        HyperTrack's integration guide sends, ``{"metadata": {"cancel_reason": reason}}``.
        ``CancelOrderRequest`` is ``{type: object, properties: {}}``: it declares no property
        and forbids none, so that body is valid against it (the sandbox keeps the reason in the
        order's metadata)."""
        body: dict[str, Any] = {}
        if reason is not None:
            body["metadata"] = {"cancel_reason": body_text("reason", reason)}
        return await self._action_summary(ref, "cancel", body)

    async def disable_summary(self, ref: OrderRef) -> OrderSummary:
        """``POST /orders/{order_handle}/disable`` (``DisableOrderRequest``: empty object)."""
        return await self._action_summary(ref, "disable", {})

    async def enable_summary(self, ref: OrderRef) -> OrderSummary:
        """``POST /orders/{order_handle}/enable`` (``EnableOrderRequest``: empty object)."""
        return await self._action_summary(ref, "enable", {})

    async def reassign_summary(self, ref: OrderRef, worker_handle: str,
                               ops_group_handle: str | None = None) -> OrderSummary:
        """``POST /orders/{order_handle}/reassign`` with ``worker_handle`` (and
        ``ops_group_handle``, needed when the worker belongs to more than one ops group)."""
        body: dict[str, Any] = {"worker_handle": body_text("worker_handle", worker_handle)}
        if ops_group_handle is not None:
            body["ops_group_handle"] = body_text("ops_group_handle", ops_group_handle)
        return await self._action_summary(ref, "reassign", body)

    async def reschedule_summary(self, ref: OrderRef, scheduled_at: datetime | str,
                                 scheduled_after: datetime | str | None = None) -> OrderSummary:
        """``POST /orders/{order_handle}/reschedule`` with ``scheduled_at`` (required) and
        ``scheduled_after``: ISO 8601 in UTC (an aware datetime is converted; a string is sent
        as given)."""
        body: dict[str, Any] = {"scheduled_at": _body_time("scheduled_at", scheduled_at)}
        if scheduled_after is not None:
            body["scheduled_after"] = _body_time("scheduled_after", scheduled_after)
        return await self._action_summary(ref, "reschedule", body)

    async def _action_summary(self, ref: OrderRef, action: str, body: dict[str, Any], *,
                              expected_status: str | None = None) -> OrderSummary:
        raw, response = await self._post_action(
            ref.order_handle, action, ref.type, ref.type_index, ref.fulfillment_attempt, body=body)
        return self._answer(ref.order_handle, action, expected_status, raw, response, parse_order_summary)

    # ------------------------------------------------------------------ plumbing

    async def _action(
        self, handle: str, action: str, expected_status: str,
        type: str | None, type_index: int | None, fulfillment_attempt: int | None,
    ) -> Order:
        body, response = await self._post_action(handle, action, type, type_index, fulfillment_attempt)
        await _models_loaded()
        from console.api.models import parse_order

        return self._answer(handle, action, expected_status, body, response, parse_order)

    async def _post_action(
        self, handle: str, action: str,
        type: str | None, type_index: int | None, fulfillment_attempt: int | None,
        body: dict[str, Any] | None = None,
    ) -> tuple[bytes, httpx.Response]:
        params = _action_params(type, type_index, fulfillment_attempt)
        return await self._request("POST", order_path(handle, action), params,
                                   json_body={} if body is None else body)

    def _answer(self, handle: str, action: str, expected_status: str | None, body: bytes,
                response: httpx.Response, parse: Callable[[bytes], _Answer]) -> _Answer:
        """An action's answer read by ``parse``, refused unless it is the order asked for, is
        unambiguous and shows the change."""
        order = self._parsed_for(handle, body, response, parse)
        duplicate = _duplicate_key(body)
        if duplicate is not None:
            # Parsers disagree on which duplicate wins (pydantic: the last; others: the first),
            # so '"order_handle": "b", "order_handle": "a"' is no proof that *this* order changed.
            raise errors.MalformedResponse(
                f"the server's answer to {action} repeats the key '{sanitize(duplicate)}'",
                status_code=response.status_code, request_id=_request_id(response),
            )
        if expected_status is not None and order.status != expected_status:
            raise errors.MalformedResponse(
                f"the server answered {action} with status '{order.status}', not '{expected_status}'",
                status_code=response.status_code, request_id=_request_id(response),
            )
        return order

    def _parse_order_for(self, handle: str, body: bytes, response: httpx.Response) -> Order:
        from console.api.models import parse_order

        return self._parsed_for(handle, body, response, parse_order)

    def _parsed_for(self, handle: str, body: bytes, response: httpx.Response,
                    parse: Callable[[bytes], _Answer]) -> _Answer:
        """``body`` read by ``parse``; MalformedResponse unless it is an order, the one asked for."""
        try:
            order = parse(body)
        except ValidationError as exc:
            raise errors.MalformedResponse(
                f"the response is not a valid order ({exc.error_count()} problem(s))",
                status_code=response.status_code, request_id=_request_id(response),
            ) from None
        except (ValueError, RecursionError):
            raise errors.MalformedResponse(
                "the response is not valid JSON", status_code=response.status_code,
                request_id=_request_id(response),
            ) from None
        if order.ref.order_handle != handle:
            raise errors.MalformedResponse(
                f"the server answered for order '{sanitize(order.ref.order_handle)}', "
                f"not the one requested ('{sanitize(handle)}')",
                status_code=response.status_code, request_id=_request_id(response),
            )
        return order

    async def _get(self, path: str, params: dict[str, Any]) -> tuple[bytes, httpx.Response]:
        """A GET with retries: GETs are safe to repeat."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._request("GET", path, params)
            except errors.CertificateError:
                raise
            except (errors.RequestNotSent, errors.OutcomeInDoubt, errors.RateLimited, errors.ServerError) as exc:
                if attempt >= self.get_backoff.max_attempts:
                    raise
                delay = self.get_backoff.delay(attempt, self._rng)
                retry_after = getattr(exc, "retry_after", None)
                if retry_after is not None:
                    if retry_after > MAX_GET_RETRY_AFTER:
                        raise
                    delay = max(delay, retry_after)
                await self._sleep(delay)

    async def _request(
        self, method: str, path: str, params: dict[str, Any], json_body: Any = None
    ) -> tuple[bytes, httpx.Response]:
        request = self._http.build_request(
            method, self.base_url + path, params=params or None,
            json=json_body if method == "POST" else None,
            extensions={"trace": require_loopback_peer} if self._check_peer else None,
        )
        expected = self._base_raw_path + path.encode("ascii")
        if request.url.raw_path.split(b"?", 1)[0] != expected:
            # Defence in depth: order_path already made this impossible.
            raise errors.InvalidRequest("refusing to send: the request path is not the one built")
        try:
            async with asyncio.timeout(self.attempt_timeout):
                response = await self._send(request, method, path)
                try:
                    body = await self._read_capped(response, method, path)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise errors.OutcomeInDoubt(
                f"no complete answer within {self.attempt_timeout:g} s", method=method, path=path
            ) from None
        if 200 <= response.status_code < 300:
            return body, response
        raise self._status_error(response, body, method, path)

    async def _send(self, request: httpx.Request, method: str, path: str) -> httpx.Response:
        """Send, mapping every httpx failure onto "not sent" or "in doubt"."""
        try:
            return await self._http.send(request, auth=self._auth, stream=True, follow_redirects=False)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if _is_certificate_error(exc):
                raise errors.CertificateError(
                    "the server's TLS certificate was refused; nothing was sent",
                    method=method, path=path,
                ) from None
            raise errors.RequestNotSent(f"could not connect: {_short(exc)}", method=method, path=path) from None
        except httpx.PoolTimeout:
            raise errors.RequestNotSent("no free connection in time", method=method, path=path) from None
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
            raise errors.RequestNotSent(f"request not sent: {_short(exc)}", method=method, path=path) from None
        except httpx.TimeoutException as exc:
            raise errors.OutcomeInDoubt(f"timed out waiting for the server ({type(exc).__name__})", method=method, path=path) from None
        except httpx.TransportError as exc:
            raise errors.OutcomeInDoubt(f"connection lost: {_short(exc)}", method=method, path=path) from None
        except Exception as exc:
            # Not an httpx error: a bug or an unmapped error inside httpx/httpcore/h11. Their
            # frames hold the encoded Authorization header in locals (h11's Request event), and
            # Textual's crash report prints locals: clear them, keep the exception and its lines.
            _clear_frame_locals(exc.__traceback__)
            raise

    async def _read_capped(self, response: httpx.Response, method: str, path: str) -> bytes:
        """The decoded body, never holding more than the cap (plus one chunk) in memory.

        A 2xx over the cap raises ResponseTooLarge. An error body is only cut short: its status
        matters more than its text.
        """
        ok = 200 <= response.status_code < 300
        cap = self.max_response_bytes if ok else min(self.max_response_bytes, MAX_ERROR_BODY_BYTES)
        declared = response.headers.get("content-length")
        # isascii: "²".isdigit() is true too, and int() refuses it.
        if ok and declared and declared.isascii() and declared.isdigit() and int(declared) > cap:
            raise errors.ResponseTooLarge(
                f"the response is {int(declared)} bytes, over the {cap}-byte cap",
                status_code=response.status_code, request_id=_request_id(response),
            )
        try:
            # A response built in memory (httpx.MockTransport with content=...) was already read
            # and decoded by httpx itself; there is no memory left to save, only the cap to apply.
            preread: bytes | None = response.content
        except httpx.ResponseNotRead:
            preread = None
        if preread is not None:
            if len(preread) <= cap:
                return preread
            if not ok:
                return preread[:cap]
            raise errors.ResponseTooLarge(
                f"the response is over the {cap}-byte cap",
                status_code=response.status_code, request_id=_request_id(response),
            )
        try:
            decoder = BoundedDecoder(response.headers.get("content-encoding"), cap)
        except UnsupportedEncoding as exc:
            if not ok:
                return b""
            raise errors.MalformedResponse(
                f"the response is not readable: {sanitize(str(exc))}",
                status_code=response.status_code, request_id=_request_id(response),
            ) from None
        chunks: list[bytes] = []
        try:
            # Raw bytes, decoded here with a bound: httpx's decoders inflate without one.
            async for raw in response.aiter_raw():
                try:
                    chunks.append(decoder.feed(raw))
                except zlib.error:
                    if not ok:
                        return b""
                    raise errors.MalformedResponse(
                        "the compressed response is corrupt",
                        status_code=response.status_code, request_id=_request_id(response),
                    ) from None
                if decoder.over_limit:
                    if not ok:
                        return b"".join(chunks)[:cap]
                    raise errors.ResponseTooLarge(
                        f"the response is over the {cap}-byte cap",
                        status_code=response.status_code, request_id=_request_id(response),
                    )
        except httpx.TimeoutException:
            raise errors.OutcomeInDoubt("timed out reading the response", method=method, path=path) from None
        except httpx.TransportError as exc:
            raise errors.OutcomeInDoubt(f"the response was cut off: {_short(exc)}", method=method, path=path) from None
        return b"".join(chunks)

    def _status_error(self, response: httpx.Response, body: bytes, method: str, path: str) -> errors.APIStatusError:
        status = response.status_code
        message, detail = parse_error_body(body)
        if not message:
            message = response.reason_phrase or ""
        kwargs = dict(detail=detail, request_id=_request_id(response), method=method, path=path)
        if status in (401, 403):
            return errors.AuthenticationError(status, message, **kwargs)
        if status == 404:
            return errors.NotFoundError(status, message, **kwargs)
        if status == 409:
            return errors.ConflictError(status, message, **kwargs)
        if status == 422:
            return errors.ValidationFailed(status, message, **kwargs)
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status == 429:
            return errors.RateLimited(status, message, retry_after=retry_after, **kwargs)
        if 500 <= status < 600:
            return errors.ServerError(status, message, retry_after=retry_after, **kwargs)
        if 300 <= status < 400:
            message = f"redirect to {sanitize(response.headers.get('location', '?'))} not followed"
        return errors.UnexpectedStatus(status, message, **kwargs)


# ---------------------------------------------------------------------- parameters


def list_params(
    *,
    status: str | Iterable[str] | None = None,
    ops_group_handle: str | None = None,
    search_term: str | None = None,
    worker_handle: str | None = None,
    risk_status: str | None = None,
    limit: int | None = None,
    sort_direction: str | None = None,
) -> dict[str, Any]:
    """Validate and build the query of ``GET /orders/``; bad values raise InvalidRequest.

    ``status`` is sent only when the list filter can name every status asked for (see
    :func:`status_query`).
    """
    params: dict[str, Any] = {}
    sent, _ = status_query(status)
    if sent is not None:
        params["status"] = sent
    for name, value in (
        ("ops_group_handle", ops_group_handle), ("search_term", search_term),
        ("worker_handle", worker_handle), ("risk_status", risk_status),
    ):
        if value is not None:
            if not isinstance(value, str):
                raise errors.InvalidRequest(f"{name} must be text")
            params[name] = value
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise errors.InvalidRequest("limit must be a positive whole number")
        params["limit"] = limit
    if sort_direction is not None:
        if sort_direction not in ("asc", "desc"):
            raise errors.InvalidRequest("sort_direction must be 'asc' or 'desc'")
        params["sort_direction"] = sort_direction
    return params


def status_query(status: str | Iterable[str] | None) -> tuple[str | None, frozenset[str] | None]:
    """The ``status`` parameter to send for the statuses asked for, and the statuses to keep
    from the answer (None: keep every order the server sends).

    HyperTrack's list filter names eight statuses; ``dispatched`` and ``summarizing`` are order
    statuses it cannot name (a request naming them is refused with 422). Asked for any of them,
    the answer is ``(None, the statuses)``: a list read without the ``status`` filter (the
    documented way to get every status), the orders of other statuses dropped on this side.
    :meth:`OrdersClient.open_set_queries` bounds that read to a window of recent orders.
    ``rescheduled`` is a filter only (no order has that status), so it cannot be combined with
    them. Unknown statuses raise InvalidRequest.
    """
    if status is None:
        return None, None
    items = [s.strip() for s in (status.split(",") if isinstance(status, str) else status)]
    items = list(dict.fromkeys(s for s in items if s))
    known = (*ORDER_STATUSES, "rescheduled")
    unknown = [s for s in items if s not in known]
    if unknown:
        raise errors.InvalidRequest(f"unknown status '{sanitize(unknown[0])}'; one of: {', '.join(known)}")
    if not items:
        return None, None
    if all(s in FILTERABLE_STATUSES for s in items):
        return ",".join(items), None
    if "rescheduled" in items:
        raise errors.InvalidRequest(
            "'rescheduled' cannot be combined with a status the list filter cannot name "
            "(dispatched, summarizing): ask for them separately"
        )
    return None, frozenset(items)


def check_open_set_window(hours: Any) -> float:
    """The open set's window in hours: 0 (no window) or 1 to MAX_OPEN_SET_WINDOW_HOURS."""
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not (
        hours == 0 or 1 <= hours <= MAX_OPEN_SET_WINDOW_HOURS
    ):
        raise ValueError(f"the open set's window must be 0 (no window) or between 1 and "
                         f"{MAX_OPEN_SET_WINDOW_HOURS} hours")
    return float(hours)


def _page_items(page: Any) -> list[Any]:
    return page.items if isinstance(page, ItemPage) else page.orders


def _identity(order: Any) -> Any:
    """An order's identity (handle, leg, attempt), hashable; None when it has none (an item
    that is not an object: it is reported, never merged)."""
    if not hasattr(order, "ref"):
        return item_identity(order)
    ref = getattr(order, "ref", None)
    if ref is None:
        return None
    return (ref.order_handle, ref.type, ref.type_index, ref.fulfillment_attempt)


def _action_params(type: str | None, type_index: int | None, fulfillment_attempt: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if type is not None:
        if type not in ORDER_TYPES:
            raise errors.InvalidRequest(f"type must be 'pick' or 'drop', not '{sanitize(str(type))}'")
        params["type"] = type
    for name, value in (("type_index", type_index), ("fulfillment_attempt", fulfillment_attempt)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise errors.InvalidRequest(f"{name} must be a whole number >= 0")
            params[name] = value
    return params


#: Longest worker or ops-group handle sent in a body: a handle is an id, not a document.
MAX_BODY_TEXT = 1024


def body_text(name: str, value: Any) -> str:
    """A handle for a request body: a non-empty string without control characters (the
    headless commands check their options with it too); raises InvalidRequest."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_BODY_TEXT:
        raise errors.InvalidRequest(f"{name} must be a non-empty text of at most {MAX_BODY_TEXT} characters")
    if has_unsafe_characters(value) or value != value.strip():
        raise errors.InvalidRequest(f"{name} must not hold control characters or surrounding spaces")
    return value


def _body_time(name: str, value: Any) -> str:
    """A time for a request body: an aware datetime as ISO 8601 UTC, or a non-empty string."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise errors.InvalidRequest(f"{name} must be a time with a zone")
        return iso_utc(value)
    return body_text(name, value)


def _request_id(response: httpx.Response) -> str | None:
    for name in REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return value[:128]
    return None


def _is_certificate_error(exc: BaseException) -> bool:
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 10:
        if isinstance(cur, ssl.SSLCertVerificationError):
            return True
        if "CERTIFICATE_VERIFY_FAILED" in str(cur):
            return True
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return False


class _DuplicateKey(Exception):
    pass


def _no_repeated_key(pairs: list[tuple[str, Any]]) -> None:
    # dict() and len() in C; only an object that repeats a key pays for the loop that names it.
    if len(dict(pairs)) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return None  # the values are not needed


#: Built once: json.loads with a hook builds a new decoder per call.
_PAIRS_DECODER = json.JSONDecoder(object_pairs_hook=_no_repeated_key)


def _duplicate_key(body: bytes) -> str | None:
    """The first key repeated inside one JSON object of ``body``, or None.

    Only used on action answers (one order), which pydantic has already parsed: a body that is
    not JSON or too deep here was rejected before.
    """
    try:
        _PAIRS_DECODER.decode(body.decode("utf-8"))
    except _DuplicateKey as dup:
        return str(dup.args[0])
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return None


def _clear_frame_locals(tb: TracebackType | None) -> None:
    """Drop the local variables of every finished frame below the current one."""
    tb = tb.tb_next if tb is not None else None  # the first frame is ours, still running
    while tb is not None:
        try:
            tb.tb_frame.clear()
        except RuntimeError:  # a frame that is still executing (a suspended generator)
            pass
        tb = tb.tb_next


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return sanitize(text[:200])
