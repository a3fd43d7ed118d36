"""Fault knobs: what can go wrong between the console and HyperTrack, on demand.

Every knob can be set in code (tests, training) and, for a served sandbox, from the command line.
Decisions are drawn from one seeded ``random.Random`` in a fixed order per request, so the same
seed and the same requests give the same faults.

Knobs (each decided per request, in this order):

1. ``script(method, target, actions)``: the next matching requests get these actions, one each,
   in order (exclusively: no other knob applies to a scripted request). Failing that, ``hook``
   (a callable taking a :class:`RequestInfo`) may return an action for the request.
2. ``rate_limit(n, retry_after)``: the next ``n`` requests get 429 with ``Retry-After``.
3. ``error_rate``: that share of requests get a random 500/502/503/504, decided *before*
   anything is applied.
4. For order write actions (by default only ``complete``; ``apply_to`` aims them at any of the
   six, ``apply_to(ORDER_ACTIONS)`` at all): ``drop_before_apply`` (the connection is
   closed and nothing is applied), ``drop_after_apply`` (applied, then the connection is closed
   without a response) and ``gateway_timeout_after_apply`` (applied, then a gateway 504), each
   for the next ``n`` such requests or with a probability.

Latency (fixed or uniform between a minimum and a maximum) is added to every request first.

Script actions: ``"ok"``, ``"429"`` or ``"429:<seconds>"``, ``"500"``/``"502"``/``"503"``/``"504"``
(before applying), ``"drop_before_apply"``, ``"drop_after_apply"``,
``"gateway_timeout_after_apply"`` and ``"delay:<seconds>"`` (a slow but otherwise normal answer).
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

ERROR_STATUSES = (500, 502, 503, 504)
#: The write actions the apply-time knobs can be aimed at (console.sandbox.actions.WRITE_ACTIONS
#: is this tuple).
ORDER_ACTIONS = ("complete", "cancel", "disable", "enable", "reassign", "reschedule")


class _Any:
    def __repr__(self) -> str:
        return "Faults.ANY"


ANY: Any = _Any()


@dataclass(frozen=True)
class RequestInfo:
    """What the fault layer knows about a request (after routing, before handling)."""

    method: str
    handle: str | None  # None for the list endpoint
    action: str | None  # one of ORDER_ACTIONS, or None


@dataclass(frozen=True)
class Decision:
    """What to do with one request. ``fault`` names it for the server's stats."""

    delay: float = 0.0
    status: int | None = None  # answer this (429/5xx) without applying anything
    retry_after: int | None = None
    drop_before: bool = False
    drop_after: bool = False
    gateway_timeout_after: bool = False
    fault: str | None = None

    @property
    def handles_request(self) -> bool:
        """True when the request reaches the real handler (it may apply)."""
        return self.status is None and not self.drop_before


OK = Decision()
_SCRIPT_WORDS = ("ok", "drop_before_apply", "drop_after_apply", "gateway_timeout_after_apply")


def _check_action(action: str) -> None:
    if action in _SCRIPT_WORDS:
        return
    head, _, arg = action.partition(":")
    if head == "429" and (not arg or arg.isdigit()):
        return
    if head in {str(s) for s in ERROR_STATUSES} and not arg:
        return
    if head == "delay" and arg:
        try:
            if float(arg) >= 0:
                return
        except ValueError:
            pass
    raise ValueError(f"unknown fault action {action!r}")


class _Counted:
    """A "next n, or with probability p" knob."""

    def __init__(self) -> None:
        self.left = 0
        self.probability = 0.0

    def set(self, n: int, probability: float | None) -> None:
        if n < 0:
            raise ValueError("n must be >= 0")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        self.left = n
        self.probability = probability or 0.0

    def fires(self, rng: random.Random) -> bool:
        if self.left > 0:
            self.left -= 1
            return True
        return self.probability > 0 and rng.random() < self.probability


class Faults:
    """The sandbox's fault knobs. Thread-safe: a served sandbox decides in the server thread
    while a test sets knobs from its own."""

    ANY = ANY

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        """Everything off (and the random sequence restarted)."""
        with self._lock:
            self._rng = random.Random(self.seed)
            self.latency: tuple[float, float] = (0.0, 0.0)
            self.error_rate = 0.0
            self._rate_limited = 0
            self.retry_after = 2
            self._drop_before = _Counted()
            self._drop_after = _Counted()
            self._gateway_after = _Counted()
            self.apply_faults_to: tuple[str, ...] = ("complete",)
            self._scripts: dict[tuple[str, Any], deque[str]] = {}
            self.hook: Callable[[RequestInfo], str | None] | None = None

    # ------------------------------------------------------------------ setting knobs

    def set_latency(self, minimum: float, maximum: float | None = None) -> None:
        """Fixed latency, or uniform between ``minimum`` and ``maximum`` seconds."""
        maximum = minimum if maximum is None else maximum
        if minimum < 0 or maximum < minimum:
            raise ValueError("latency needs 0 <= minimum <= maximum")
        with self._lock:
            self.latency = (float(minimum), float(maximum))

    def set_error_rate(self, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("error rate must be between 0 and 1")
        with self._lock:
            self.error_rate = rate

    def rate_limit(self, n: int, retry_after: int = 2) -> None:
        """The next ``n`` requests get 429 with ``Retry-After: retry_after``."""
        if n < 0 or retry_after < 0:
            raise ValueError("n and retry_after must be >= 0")
        with self._lock:
            self._rate_limited = n
            self.retry_after = retry_after

    def drop_before_apply(self, n: int = 1, *, probability: float | None = None) -> None:
        with self._lock:
            self._drop_before.set(n, probability)

    def drop_after_apply(self, n: int = 1, *, probability: float | None = None) -> None:
        with self._lock:
            self._drop_after.set(n, probability)

    def gateway_timeout_after_apply(self, n: int = 1, *, probability: float | None = None) -> None:
        with self._lock:
            self._gateway_after.set(n, probability)

    def apply_to(self, actions: Iterable[str]) -> None:
        """Which order actions the drop/gateway knobs hit (default: only ``complete``)."""
        actions = tuple(actions)
        if any(a not in ORDER_ACTIONS for a in actions):
            raise ValueError(f"actions must be among {ORDER_ACTIONS}")
        with self._lock:
            self.apply_faults_to = actions

    def script(self, method: str, target: Any, actions: Iterable[str]) -> None:
        """Queue ``actions`` for the next requests of ``method`` to ``target``.

        ``target`` is an order handle (its GET and its write actions), ``None`` for the list
        endpoint, or ``Faults.ANY`` for any request of that method.
        """
        actions = list(actions)
        for a in actions:
            _check_action(a)
        with self._lock:
            self._scripts.setdefault((method.upper(), target), deque()).extend(actions)

    def pending_script(self, method: str, target: Any) -> list[str]:
        with self._lock:
            return list(self._scripts.get((method.upper(), target), ()))

    # ------------------------------------------------------------------ deciding

    def decide(self, info: RequestInfo) -> Decision:
        with self._lock:
            delay = self._delay()
            action = self._scripted(info)
            if action is None and self.hook is not None:
                action = self.hook(info)
                if action is not None:
                    _check_action(action)
            if action is not None:
                return _from_action(action, delay, self.retry_after)
            if self._rate_limited > 0:
                self._rate_limited -= 1
                return Decision(delay=delay, status=429, retry_after=self.retry_after, fault="429")
            if self.error_rate > 0 and self._rng.random() < self.error_rate:
                status = ERROR_STATUSES[int(self._rng.random() * len(ERROR_STATUSES))]
                return Decision(delay=delay, status=status, fault=str(status))
            if info.method == "POST" and info.action in self.apply_faults_to:
                if self._drop_before.fires(self._rng):
                    return Decision(delay=delay, drop_before=True, fault="drop_before_apply")
                if self._drop_after.fires(self._rng):
                    return Decision(delay=delay, drop_after=True, fault="drop_after_apply")
                if self._gateway_after.fires(self._rng):
                    return Decision(delay=delay, gateway_timeout_after=True, fault="gateway_timeout_after_apply")
            return Decision(delay=delay) if delay else OK

    def _delay(self) -> float:
        low, high = self.latency
        if high <= 0:
            return 0.0
        if high == low:
            return low
        return low + (high - low) * self._rng.random()

    def _scripted(self, info: RequestInfo) -> str | None:
        for target in (info.handle, ANY):
            queue = self._scripts.get((info.method, target))
            if queue:
                return queue.popleft()
        return None


def _from_action(action: str, delay: float, default_retry_after: int) -> Decision:
    head, _, arg = action.partition(":")
    if head == "ok":
        return Decision(delay=delay)
    if head == "delay":
        return Decision(delay=delay + float(arg))
    if head == "429":
        return Decision(delay=delay, status=429, retry_after=int(arg) if arg else default_retry_after, fault="429")
    if head in ("500", "502", "503", "504"):
        return Decision(delay=delay, status=int(head), fault=head)
    if head == "drop_before_apply":
        return Decision(delay=delay, drop_before=True, fault=head)
    if head == "drop_after_apply":
        return Decision(delay=delay, drop_after=True, fault=head)
    return Decision(delay=delay, gateway_timeout_after=True, fault="gateway_timeout_after_apply")
