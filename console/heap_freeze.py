"""Move what is alive now out of the cyclic garbage collector's way.

A full (oldest generation) collection walks every tracked object of the process: 60-200 ms of a
stalled event loop here once Textual's app or a bulk run's httpx objects are alive. After
``gc.freeze()`` the objects alive at that instant sit in a permanent generation that collections
skip; later collections walk only what is new. Objects frozen and freed later are still freed by
reference counting; only cyclic garbage-to-be alive at that instant is never collected, which is
why the young generations (where fresh garbage is) are collected first: a few milliseconds, not
the ~100 ms of a full collection.

Used by the bulk engine when a run starts and by the console's heap policy
(console/ui/heap.py) when its first load starts.
"""

from __future__ import annotations

import gc


def freeze_survivors() -> None:
    """Collect the young generations, then freeze everything still alive."""
    gc.collect(1)
    gc.freeze()
