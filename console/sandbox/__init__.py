"""A simulated HyperTrack Orders API (in process through an httpx transport, or served by uvicorn
as an ASGI app).

Names are loaded on first use (PEP 562), so ``import console.sandbox.server`` for its command-line
options does not build a fleet; the in-process sandbox never imports Starlette (only
``Sandbox.app``, the served face, does); ``console.api`` never imports this package at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.lazy import lazy_getattr

if TYPE_CHECKING:
    from console.sandbox.clock import ManualClock, WallClock
    from console.sandbox.core import Sandbox
    from console.sandbox.defaults import DEFAULT_ACCOUNT_ID, DEFAULT_SECRET_KEY
    from console.sandbox.faults import Faults
    from console.sandbox.stats import RequestRecord, Stats

_EXPORTS = {
    "DEFAULT_ACCOUNT_ID": "console.sandbox.defaults",
    "DEFAULT_SECRET_KEY": "console.sandbox.defaults",
    "Sandbox": "console.sandbox.core",
    "Faults": "console.sandbox.faults",
    "ManualClock": "console.sandbox.clock",
    "WallClock": "console.sandbox.clock",
    "RequestRecord": "console.sandbox.stats",
    "Stats": "console.sandbox.stats",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())
