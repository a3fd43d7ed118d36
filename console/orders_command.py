"""``dispatch-console orders``: the account's orders without the UI, as a table, CSV or JSON lines.

- **Which orders**: the open ones by default, the same set as the console (every status but
  ``completed`` and ``cancelled``, ``dispatched`` and ``summarizing`` included); ``--status``
  for others, ``--all`` for every order. Every page, streamed (memory stays bounded).
- **Table** (default): the worst-risk marker and the eight risk badges as on screen, then the
  order's fields, each column starting under its header (a value wider than its column is cut
  with ``…``; widths count terminal cells, so wide characters do not shift the next column).
- **CSV** (``--csv``): a header row, one order a line, each risk as its level word; a text cell
  that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or
  a carriage return) is prefixed with ``'``.
- **JSON lines** (``--json``): each order exactly as the API sent it. JSON escapes control
  characters itself (``ensure_ascii``), so nothing is rewritten: an ESC stays the one character
  ``\\u001b``, distinct from the four characters ``\\x1b``.

Text and CSV come from the list's summaries (:mod:`console.api.summaries`): every string is
sanitized there (control characters as visible escapes), and the handle is escaped for display.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from console.api.vocab import OPEN_STATUSES, RISK_KEY_NAMES
from console.csv_cells import CSV_HEADER, csv_line, neutralise, order_cells, timestamp_cell  # noqa: F401 (re-exported)
from console.bulk.headless import (
    EXIT_AUTH, EXIT_CANNOT_RUN, EXIT_FAILED, EXIT_OK, EXIT_SIGNAL, EXIT_USAGE, Output, _make_client,
)

if TYPE_CHECKING:
    from console.api.summaries import OrderSummary

def add_orders_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "List orders (every page): the open ones by default, as the console shows them, "
        "as a table, CSV or JSON lines."
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--status", action="append", metavar="STATUS",
                       help="only these statuses (comma-separated or repeated), e.g. ongoing,dispatched")
    which.add_argument("--all", action="store_true", help="every order, completed and cancelled included")
    parser.add_argument("--ops-group", metavar="HANDLE", help="only this ops group")
    parser.add_argument("--search", metavar="TEXT", help="search handles, ops groups, workers and metadata")
    parser.add_argument("--worker", metavar="HANDLE", help="only this worker's orders")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="one JSON object per order, exactly as the API sent it")
    form.add_argument("--csv", action="store_true", help="CSV: a header row, one order a line, risks as level words")


def run_orders(
    args: argparse.Namespace,
    *,
    client_factory: Callable[[], Any],
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """``dispatch-console orders``. Exit codes: 0 listed, 1 the API failed, 2 usage (an unknown
    status), 3 could not connect, 4 authentication failed, 130 interrupted."""
    output = Output(stdout, stderr)
    statuses: Any = OPEN_STATUSES
    if getattr(args, "all", False):
        statuses = None
    elif args.status:
        statuses = [s for chunk in args.status for s in chunk.split(",") if s.strip()]
    filters = dict(status=statuses, ops_group_handle=args.ops_group, search_term=getattr(args, "search", None),
                   worker_handle=getattr(args, "worker", None))

    async def main() -> int:
        from console.api import errors

        client = _make_client(client_factory, output, "orders")
        if client is None:
            return EXIT_CANNOT_RUN
        try:
            if args.json:
                count = await _json_lines(client, filters, output)
            else:
                count = await _rows(client, filters, output, as_csv=getattr(args, "csv", False))
        except errors.InvalidRequest as exc:
            output.err(f"dispatch-console orders: {exc.message}")
            return EXIT_USAGE
        except errors.AuthenticationError as exc:
            output.err(f"dispatch-console orders: authentication failed: {exc.message}")
            return EXIT_AUTH
        except errors.HyperTrackError as exc:
            output.err(f"dispatch-console orders: {exc.message}")
            return EXIT_FAILED
        finally:
            try:
                await client.aclose()
            except Exception:
                pass
        output.err(f"{count} order(s)")
        return EXIT_OK

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return EXIT_SIGNAL[signal.SIGINT]


# =============================================================================== JSON lines


async def _json_lines(client: Any, filters: dict[str, Any], output: Output) -> int:
    count = 0
    async for page in client.iter_item_pages(**filters):
        for index, item in enumerate(page.items):
            if not isinstance(item, dict):
                output.err(f"warning: item {index} of a page is not an order object and is not listed")
                continue
            try:
                # ensure_ascii: every control, bidi or other non-ASCII character is written as
                # its \\uXXXX escape, never raw; the data itself is unchanged.
                line = json.dumps(item, ensure_ascii=True, allow_nan=False)
            except ValueError:  # NaN or Infinity: not JSON
                output.err(f"warning: {_label(item, index)}: a number is not valid JSON; not listed")
                continue
            output.out(line)
            count += 1
    return count


def _label(item: dict[str, Any], index: int) -> str:
    from console.api.sanitize import sanitize

    handle = item.get("order_handle")
    return sanitize(handle) if isinstance(handle, str) else f"item {index}"


# =============================================================================== table and CSV


async def _rows(client: Any, filters: dict[str, Any], output: Output, *, as_csv: bool) -> int:
    ascii = not _can_write(output.stdout, "".join(_UNICODE_MARKS))
    count = 0
    async for page in client.iter_summary_pages(**filters):
        for problem in page.skipped:
            output.err(f"warning: an order could not be read and is not listed: {problem}")
        for order in page.orders:
            if count == 0:
                output.out(csv_line(CSV_HEADER) if as_csv else table_header())
            if as_csv:
                line = csv_line(csv_cells(order))
                output.out(line.encode("ascii", "backslashreplace").decode("ascii") if ascii else line)
            else:
                output.out(table_row(order, ascii=ascii))
            count += 1
    return count


def _leg(order: "OrderSummary") -> str:
    ref = order.ref
    leg = ""
    if ref.type is not None:
        leg = f"{ref.type}#{ref.type_index if ref.type_index is not None else 0}"
    if ref.fulfillment_attempt is not None:
        leg = f"{leg} a{ref.fulfillment_attempt}".strip()
    return leg


def _time(value: Any) -> str:
    return timestamp_cell(value)


# ------------------------------------------------------------------------------- the table

#: (header, width in cells). The last column is not padded.
TABLE_COLUMNS = (
    ("!", 1), ("SEORATBU", 8), ("ORDER", 28), ("STATUS", 11), ("LEG", 10), ("WORKER", 20),
    ("OPS_GROUP", 16), ("SCHEDULED_AT", 24), ("ETA", 24),
)
GAP = "  "
_UNICODE_MARKS = ("■", "▲", "●", "○", "·", "…")


def table_header() -> str:
    return _table_line([name for name, _ in TABLE_COLUMNS])


def table_row(order: "OrderSummary", *, ascii: bool = False) -> str:
    from console.api.sanitize import sanitize
    from console.risk_marks import badges, marker

    return _table_line([
        marker(order.risks, ascii=ascii), badges(order.risks, ascii=ascii),
        sanitize(order.ref.order_handle), order.status, _leg(order) or "-", order.worker or "-",
        order.ops_group or "-", _time(order.scheduled_at) or "-", _time(order.eta) or "-",
    ], ascii=ascii)


def _table_line(values: list[str], *, ascii: bool = False) -> str:
    if ascii:  # a terminal that cannot show the rest: non-ASCII as visible escapes
        values = [v.encode("ascii", "backslashreplace").decode("ascii") for v in values]
    cells = []
    last = len(TABLE_COLUMNS) - 1
    for index, (value, (_, width)) in enumerate(zip(values, TABLE_COLUMNS)):
        if index == last:
            cells.append(value)
        else:
            cells.append(_fit(value, width, ascii=ascii))
    return GAP.join(cells).rstrip()


def cell_width(text: str) -> int:
    """Terminal cells of sanitized text: East Asian wide and full-width characters take two,
    combining marks none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _fit(text: str, width: int, *, ascii: bool = False) -> str:
    """``text`` padded or cut (with an ellipsis) to exactly ``width`` cells."""
    used = cell_width(text)
    if used > width:
        ellipsis = "." if ascii else "…"
        out, used = [], 0
        for ch in text:
            w = cell_width(ch)
            if used + w > width - 1:
                break
            out.append(ch)
            used += w
        text = "".join(out) + ellipsis
        used += 1
    return text + " " * (width - used)


def _can_write(stream: Any, sample: str) -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        sample.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


# ------------------------------------------------------------------------------- CSV
# The cells themselves (and the CSV-injection guard) are console/csv_cells.py's, shared with the
# console's export.


def csv_cells(order: "OrderSummary") -> list[str]:
    from console.api.vocab import risk_level, worst_risk

    return order_cells(
        ref=order.ref, status=order.status, worst=worst_risk(order.risks),
        levels=[risk_level(order.risks, key) for key in RISK_KEY_NAMES],
        worker=order.worker, worker_name=order.worker_name, ops_group=order.ops_group,
        scheduled_at=order.scheduled_at, eta=order.eta, address=order.address,
    )
