"""What the sandbox server received and did: the evidence tests assert on.

"The server saw at most one effective completion per order" and "no order outside the run was
touched" are read from here, not from the client's own account of what it sent.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

OrderKey = tuple[str, str, int, int]  # (order_handle, type, type_index, fulfillment_attempt)


@dataclass(frozen=True)
class RequestRecord:
    method: str
    raw_path: str  # as received, still percent-encoded
    query: str
    auth_ok: bool
    status: int | None  # None: the connection was dropped without a response
    handle: str | None = None  # decoded once, for per-order requests
    action: str | None = None
    fault: str | None = None
    request_id: str = ""


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: list[RequestRecord] = []
            self.completions_applied: Counter[OrderKey] = Counter()
            self.cancellations_applied: Counter[OrderKey] = Counter()
            #: Every write action applied, complete and cancel included: (action, key) -> times.
            self.actions_applied: Counter[tuple[str, OrderKey]] = Counter()
            self.posts_received: Counter[tuple[str, str]] = Counter()  # (handle, action)

    # ------------------------------------------------------------------ recording (server side)

    def record(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)
            if record.method == "POST" and record.handle is not None and record.action:
                self.posts_received[(record.handle, record.action)] += 1

    def applied(self, action: str, key: OrderKey) -> None:
        with self._lock:
            self.actions_applied[(action, key)] += 1
            if action == "complete":
                self.completions_applied[key] += 1
            elif action == "cancel":
                self.cancellations_applied[key] += 1

    # ------------------------------------------------------------------ reading (tests)

    def count(self, method: str | None = None, *, handle: str | None = None, action: str | None = None,
              raw_path: str | None = None) -> int:
        """How many requests matched every given filter."""
        with self._lock:
            return sum(
                1 for r in self.requests
                if (method is None or r.method == method)
                and (handle is None or r.handle == handle)
                and (action is None or r.action == action)
                and (raw_path is None or r.raw_path == raw_path)
            )

    def completions_of(self, handle: str) -> int:
        """Completions actually applied to any leg or attempt of ``handle``."""
        with self._lock:
            return sum(n for key, n in self.completions_applied.items() if key[0] == handle)

    def touched_handles(self) -> set[str]:
        """Handles that received any POST (whether or not it was applied)."""
        with self._lock:
            return {handle for handle, _ in self.posts_received}

    def changed_handles(self) -> set[str]:
        """Handles whose state a request actually changed."""
        with self._lock:
            return {key[0] for _action, key in self.actions_applied}

    def applied_count(self, action: str, handle: str | None = None) -> int:
        """How many times ``action`` was applied (to any leg or attempt of ``handle``)."""
        with self._lock:
            return sum(n for (a, key), n in self.actions_applied.items()
                       if a == action and (handle is None or key[0] == handle))

    def max_completions_per_order(self) -> int:
        with self._lock:
            return max(self.completions_applied.values(), default=0)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self.requests)
