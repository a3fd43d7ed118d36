"""The order list's columns: which ones fit a given width, how wide each is, how a cell is cut.

Pure functions (no Textual): the list widget asks for a layout when its width changes and fits
each cell with :func:`fit`, which counts terminal cells (wide CJK and emoji take two), so a
hostile or foreign string can never push the next column out of line.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rich.cells import cell_len, set_cell_size

GAP = 1


@dataclass(frozen=True)
class Column:
    name: str
    title: str
    width: int


# name, title, minimum width, preferred maximum (None: takes what is left)
_MARKER = ("marker", "", 1)
_BADGES = ("badges", "SEORATBU", 8)
# The handle identifies the order: optional columns are only added while it keeps 18 cells
# (a typical "ORD-20250314-0051" whole).
_HANDLE_MIN, _HANDLE_COMFORT = 12, 18
_STATUS = ("status", "Status", 11)  # "completing…" fits
_SCHEDULED = ("scheduled", "Scheduled", 10)  # "LATE 23h59"
# Optional columns in priority order, with the width each needs to be worth showing. A width
# shows the longest run of them, from the first, that fits: a column is never skipped for a
# later (narrower) one, so a wider list never shows fewer columns.
_OPTIONAL = (
    ("eta", "ETA", 9),  # "23h59 ago"
    ("address", "Destination", 16),
    ("worker", "Worker", 10),
    ("ops", "Ops group", 10),
)
_GROW = {"worker": 16, "ops": 14}
_ORDER = ("marker", "badges", "handle", "status", "worker", "ops", "scheduled", "eta", "address")
#: The widest list that needs every column at its minimum (the side-by-side layout gives the
#: list at least this, plus its scrollbar: styles/app.tcss).
ALL_COLUMNS_WIDTH = (
    sum(w for _, _, w in (_MARKER, _BADGES, _STATUS, _SCHEDULED, *_OPTIONAL)) + _HANDLE_COMFORT
    + GAP * (4 + len(_OPTIONAL))
)


@lru_cache(maxsize=64)
def layout(width: int) -> tuple[Column, ...]:
    """The columns shown at ``width`` cells, in display order, each with its width.

    Always: marker, badges, handle, status, scheduled. Then, in this order while they fit: ETA,
    destination, worker, ops group (stopping at the first that does not). Left-over cells widen
    the handle (to 18), then worker and ops group, and the rest goes to the destination address.
    """
    widths: dict[str, int] = {}
    titles: dict[str, str] = {}
    for name, title, w in (_MARKER, _BADGES, _STATUS, _SCHEDULED):
        widths[name], titles[name] = w, title
    widths["handle"], titles["handle"] = _HANDLE_COMFORT, "Order"

    def used() -> int:
        return sum(widths.values()) + GAP * (len(widths) - 1)

    for name, title, w in _OPTIONAL:
        if used() + GAP + w > width:
            break
        widths[name], titles[name] = w, title
    if used() > width:  # very narrow: the handle gives back what it can
        widths["handle"] = max(_HANDLE_MIN, widths["handle"] - (used() - width))
    spare = max(0, width - used())
    grow = min(spare, 18 - widths["handle"])
    widths["handle"] += grow
    spare -= grow
    for name, cap in _GROW.items():
        if name in widths and spare:
            grow = min(spare, cap - widths[name])
            widths[name] += grow
            spare -= grow
    if "address" in widths:
        widths["address"] += spare
    else:  # no address column: the handle takes the rest (long handles exist: "ACME/PO-…")
        widths["handle"] += spare
    return tuple(Column(name, titles[name], widths[name]) for name in _ORDER if name in widths)


@lru_cache(maxsize=4096)
def fit(text: str, width: int, ellipsis: str = "…") -> str:
    """``text`` cut or padded to exactly ``width`` terminal cells, ending in ``ellipsis`` if cut."""
    if width <= 0:
        return ""
    length = cell_len(text)
    if length == width:
        return text
    if length < width:
        return text + " " * (width - length)
    cut = width - cell_len(ellipsis)
    if cut <= 0:
        return set_cell_size(text, width)
    return set_cell_size(text, cut) + ellipsis
