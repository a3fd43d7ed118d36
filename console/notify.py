"""Notifications through the terminal: a bell and desktop notifications (OSC 9, OSC 777).

Opt-in (the ``notify`` profile key, ``--notify``), for the kinds of change the supervisor chose
(default: an order newly turned red). One notification per refresh at most: the refresh's
matching events are coalesced into one sentence ("3 orders turned red: h1, h2, h3"), and a
refresh within ``min_interval`` of the last notification adds its events to the next one instead
(rate limit: nothing is dropped, it arrives later, still as one notification).

The bytes (what a terminal receives):

- bell: ``BEL`` (0x07);
- OSC 9 (iTerm2-style "growl"): ``ESC ] 9 ; <text> BEL``;
- OSC 777 (urxvt-style): ``ESC ] 777 ; notify ; <title> ; <text> BEL``;
- inside tmux (``$TMUX`` set), each OSC is wrapped for passthrough: ``ESC P tmux ; <sequence with
  every ESC doubled> ESC \\``, which tmux forwards to the outer terminal only with
  ``set -g allow-passthrough on`` (tmux 3.3+). The bell is not wrapped: tmux has its own bell
  handling (``bell-action``, ``monitor-bell``) and passes it on.

The text never carries raw API text: handles are sanitized (control, format and invisible
characters shown as visible escapes), anything left that is not printable is dropped, and the
whole text is cut to :data:`MAX_TEXT` characters. It starts with the product's name, not a digit,
so no terminal reads it as a numbered OSC 9 sub-command (ConEmu's ``9;1`` ... ``9;12``).

No Textual here: ``watch`` uses it as it is, and the console writes the same bytes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import IO

from console.api.sanitize import sanitize
from console.session.changes import ChangeEvent, ChangeKind

#: Notification kinds a supervisor can choose: ``new-red`` (an order newly turned red) and the
#: change kinds of :class:`~console.session.changes.ChangeKind`.
NOTIFY_KINDS = ("new-red",) + tuple(kind.value for kind in ChangeKind)
DEFAULT_KINDS = ("new-red",)
#: How a notification reaches the supervisor.
METHODS = ("bell", "osc9", "osc777")
DEFAULT_METHODS = ("bell", "osc9", "osc777")
#: The longest notification text, in characters.
MAX_TEXT = 160
#: Handles named in one notification; the rest are counted.
MAX_NAMED = 3
DEFAULT_MIN_INTERVAL = 30.0
TITLE = "dispatch-console"

BEL = b"\x07"
ESC = b"\x1b"
ST = b"\x1b\\"


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` safe inside an OSC string: sanitized, only printable characters (no ESC, BEL,
    C1 controls or line breaks can end or break out of the sequence), at most ``limit``
    characters (cut with ``...``)."""
    text = "".join(ch for ch in sanitize(text) if ch.isprintable())
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return text


def osc9(text: str) -> bytes:
    return b"\x1b]9;" + clean_text(text).encode("utf-8") + BEL


def osc777(title: str, text: str) -> bytes:
    # ';' separates the fields: the title may not hold one; the body is the last field.
    return (b"\x1b]777;notify;" + clean_text(title, 40).replace(";", ",").encode("utf-8") + b";"
            + clean_text(text).encode("utf-8") + BEL)


def tmux_wrap(sequence: bytes) -> bytes:
    """``sequence`` in a tmux passthrough DCS (every ESC inside doubled)."""
    return b"\x1bPtmux;" + sequence.replace(ESC, ESC + ESC) + ST


def encode(text: str, methods: Sequence[str], *, tmux: bool = False, title: str = TITLE) -> bytes:
    """The bytes of one notification by every chosen method."""
    out = b""
    for method in methods:
        if method == "bell":
            out += BEL
            continue
        if method == "osc9":
            seq = osc9(f"{title}: {text}")
        elif method == "osc777":
            seq = osc777(title, text)
        else:
            raise ValueError(f"unknown notification method {method!r}")
        out += tmux_wrap(seq) if tmux else seq
    return out


def matches(event: ChangeEvent, kinds: Iterable[str]) -> bool:
    """Whether ``event`` is of a kind the supervisor chose (``new-red`` or a change kind)."""
    kinds = set(kinds)
    if "new-red" in kinds and event.is_new_red:
        return True
    return event.kind.value in kinds


_PHRASES = {
    "new-red": ("order turned red", "orders turned red"),
    ChangeKind.LATE.value: ("order became LATE", "orders became LATE"),
    ChangeKind.ETA.value: ("ETA slipped", "ETAs slipped"),
    ChangeKind.WORKER.value: ("order reassigned", "orders reassigned"),
    ChangeKind.STATUS.value: ("status change", "status changes"),
    ChangeKind.NEW.value: ("new order", "new orders"),
    ChangeKind.LEFT.value: ("order left the open set", "orders left the open set"),
    ChangeKind.RISK.value: ("risk change", "risk changes"),
    ChangeKind.WORST.value: ("worst-risk change", "worst-risk changes"),
}


def summary(events: Sequence[ChangeEvent], kinds: Iterable[str]) -> str | None:
    """One sentence for a refresh's matching events, or None when none matches:
    ``3 orders turned red: h1, h2, h3`` or ``2 orders turned red, 1 order became LATE: h1, h2
    and 1 more``. Handles are sanitized; the length is bounded by :func:`clean_text`."""
    kinds = tuple(kinds)
    counts: dict[str, list[ChangeEvent]] = {}
    for event in events:
        if "new-red" in kinds and event.is_new_red:
            counts.setdefault("new-red", []).append(event)
        elif event.kind.value in kinds and not (event.kind is ChangeKind.LATE and event.after != "late"):
            counts.setdefault(event.kind.value, []).append(event)
    if not counts:
        return None
    parts = []
    handles: list[str] = []
    for kind in ("new-red",) + tuple(k.value for k in ChangeKind):
        found = counts.get(kind)
        if not found:
            continue
        one, many = _PHRASES[kind]
        parts.append(f"{len(found)} {one if len(found) == 1 else many}")
        for event in found:
            handle = sanitize(event.ref.order_handle)
            if handle not in handles:
                handles.append(handle)
    named = ", ".join(handles[:MAX_NAMED])
    if len(handles) > MAX_NAMED:
        named += f" and {len(handles) - MAX_NAMED} more"
    return clean_text(f"{', '.join(parts)}: {named}")


@dataclass
class Notifier:
    """Coalesces and rate-limits notifications and writes their bytes to ``stream``.

    Call :meth:`refresh` once per compared refresh with its events; it writes at most one
    notification and returns the bytes written (``b""`` when nothing was due).
    """

    stream: IO[bytes] | None
    kinds: tuple[str, ...] = DEFAULT_KINDS
    methods: tuple[str, ...] = DEFAULT_METHODS
    min_interval: float = DEFAULT_MIN_INTERVAL
    tmux: bool = False
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in NOTIFY_KINDS]
        if unknown:
            raise ValueError(f"unknown notification kind(s): {', '.join(map(sanitize, unknown))}")
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ValueError(f"unknown notification method(s): {', '.join(map(sanitize, unknown))}")
        self._pending: list[ChangeEvent] = []
        self._last: float | None = None

    def refresh(self, events: Sequence[ChangeEvent]) -> bytes:
        self._pending.extend(e for e in events if matches(e, self.kinds))
        if not self._pending:
            return b""
        now = self.clock()
        if self._last is not None and now - self._last < self.min_interval:
            return b""  # kept for the next notification
        text = summary(self._pending, self.kinds)
        self._pending = []
        if text is None:
            return b""
        data = encode(text, self.methods, tmux=self.tmux)
        self._last = now
        if self.stream is not None:
            try:
                self.stream.write(data)
                self.stream.flush()
            except OSError:
                pass  # the terminal went away: a notification is not worth a crash
        return data


def methods_for(environ: "dict[str, str] | os._Environ[str] | None" = None) -> tuple[str, ...]:
    """The methods to use in this terminal, from what its environment says (over SSH most of
    these variables are not forwarded, hence the fallback): a terminal that shows both OSC 9 and
    OSC 777 would otherwise show every notification twice.

    - iTerm2, kitty: OSC 9;
    - Windows Terminal, WezTerm, Ghostty, foot, rxvt-unicode, VTE terminals: OSC 777;
    - anything else: both (a terminal ignores the one it does not know). The bell always.
    """
    env = os.environ if environ is None else environ
    program = env.get("TERM_PROGRAM", "").lower()
    term = env.get("TERM", "").lower()
    if program in ("iterm.app",) or env.get("KITTY_WINDOW_ID") or term == "xterm-kitty":
        return ("bell", "osc9")
    if (program in ("wezterm", "ghostty") or env.get("WT_SESSION") or env.get("VTE_VERSION")
            or term.startswith(("foot", "rxvt-unicode")) or term == "xterm-ghostty"):
        return ("bell", "osc777")
    return DEFAULT_METHODS


def _parse_choices(text: str, allowed: Sequence[str], what: str) -> tuple[str, ...]:
    """A comma-separated list of ``allowed`` names (at least one); ValueError naming the
    unknown ones."""
    chosen = tuple(c.strip().lower() for c in text.split(",") if c.strip())
    unknown = [c for c in chosen if c not in allowed]
    if unknown or not chosen:
        raise ValueError(f"notification {what} must be among {', '.join(allowed)}"
                         + (f" (not {', '.join(map(sanitize, unknown))})" if unknown else ""))
    return chosen


def parse_methods(text: str) -> tuple[str, ...]:
    """``bell,osc9`` as methods; ValueError naming an unknown one."""
    return _parse_choices(text, METHODS, "methods")


def in_tmux(environ: dict[str, str] | None = None) -> bool:
    return bool((os.environ if environ is None else environ).get("TMUX"))


def parse_kinds(text: str) -> tuple[str, ...]:
    """``new-red,late`` as kinds; ValueError naming an unknown one."""
    return _parse_choices(text, NOTIFY_KINDS, "kinds")
