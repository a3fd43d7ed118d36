"""Orders as CSV cells: one definition for the headless ``orders --csv`` and the console's export.

No Textual, no I/O. A row is a header's worth of text cells: the order's identity (handle, leg),
its status, the worst risk and each of the eight risks as level words (``red``, ``yellow``,
``green``, ``unknown``), the worker, the ops group, the times in the API's own form, and the
destination.

CSV injection: a cell that a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) gets a leading ``'`` so it reads as text. Every cell
goes through :func:`neutralise`, whatever its column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from console.api.sanitize import sanitize
from console.api.vocab import RISK_KEY_NAMES, OrderRef, RiskLevel
from console.risk_marks import level_word

CSV_HEADER = (
    "order_handle", "type", "type_index", "fulfillment_attempt", "status", "worst_risk",
    *RISK_KEY_NAMES, "worker_handle", "worker_name", "ops_group_handle", "scheduled_at", "eta",
    "destination_address",
)
#: A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, prefixed with ``'`` so it reads as text."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def csv_line(cells: Iterable[Any]) -> str:
    """One CSV record (quoted as needed), without its line end. The writer is given a real line
    end (then cut): with an empty one it would not quote a cell holding a CR or LF."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()[:-2]


def timestamp_cell(value: datetime | None) -> str:
    """A time in the API's own form (``YYYY-MM-DDTHH:MM:SS.mmmZ``), or empty."""
    from console.api.timestamps import format_timestamp

    return format_timestamp(value) if value is not None else ""


def order_cells(
    *,
    ref: OrderRef,
    status: str,
    worst: RiskLevel,
    levels: Sequence[RiskLevel],
    worker: str | None,
    worker_name: str | None,
    ops_group: str | None,
    scheduled_at: datetime | None,
    eta: datetime | None,
    address: str | None,
) -> list[str]:
    """The cells of :data:`CSV_HEADER` for one order, each neutralised. ``levels``: the eight
    risks' levels in :data:`RISK_KEY_NAMES` order. Text fields are expected sanitized (the
    summaries do it); the handle is sanitized here."""
    text = [
        sanitize(ref.order_handle), ref.type or "",
        "" if ref.type_index is None else str(ref.type_index),
        "" if ref.fulfillment_attempt is None else str(ref.fulfillment_attempt),
        status, level_word(worst), *(level_word(level) for level in levels),
        worker or "", worker_name or "", ops_group or "",
        timestamp_cell(scheduled_at), timestamp_cell(eta), address or "",
    ]
    return [neutralise(cell) for cell in text]
