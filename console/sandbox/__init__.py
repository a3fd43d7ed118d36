"""A simulated HyperTrack Orders API (Starlette app; in process or served by uvicorn).

Not imported by ``console.api`` or the console's start-up path: it pulls in Starlette.
"""

from console.sandbox.clock import ManualClock, WallClock
from console.sandbox.core import DEFAULT_ACCOUNT_ID, DEFAULT_SECRET_KEY, Sandbox
from console.sandbox.faults import Faults
from console.sandbox.stats import RequestRecord, Stats

__all__ = [
    "DEFAULT_ACCOUNT_ID", "DEFAULT_SECRET_KEY", "Faults", "ManualClock", "RequestRecord", "Sandbox",
    "Stats", "WallClock",
]
