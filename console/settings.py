"""What the console was asked to do, decided once by the caller (the CLI or a test).

The app never reads the environment or argv itself: everything it needs arrives here, so a test
or a second profile can build an app with exactly the settings it wants.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from console.api.client import DEFAULT_BASE_URL
from console.session.changes import MAX_ETA_SLIP_MINUTES

DEFAULT_THEME = "textual-dark"
PALETTES = ("default", "colorblind")


@dataclass(frozen=True)
class Settings:
    base_url: str = DEFAULT_BASE_URL
    #: Only this ops group's orders are listed (None: every ops group).
    ops_group: str | None = None
    #: Seconds between automatic refreshes of the order list.
    refresh_seconds: float = 10
    #: Every write action is disabled (and shown as disabled).
    read_only: bool = False
    #: Only ASCII glyphs on screen (badges, markers, ellipses), for terminals without Unicode.
    ascii: bool = False
    #: Parallel requests of a bulk completion run.
    bulk_concurrency: int = 4
    #: Seconds after a send during which a request may still be in flight, so a read-back that
    #: shows it not applied proves nothing (console/bulk/engine.py). None: the engine's default
    #: (the client's 45 s per-attempt deadline + 15 s).
    settle_window: float | None = None
    #: A Textual theme name; an unknown name falls back to the default with a notice.
    theme: str = DEFAULT_THEME
    #: The profile these settings came from, shown in the header when set.
    profile: str | None = None
    #: Orders asked for per list page.
    page_size: int = 100
    #: Badge colours: "default" (the theme's red/yellow/green) or "colorblind" (Okabe-Ito:
    #: vermillion, yellow, sky blue). Every level also reads without colour.
    palette: str = "default"
    #: User key bindings: (binding id, keys) pairs from the config's [keymap] table, e.g.
    #: ("order.complete", "x"). Applied with App.set_keymap.
    keymap: tuple[tuple[str, str], ...] = ()
    #: The bulk-completion journal (None: $DISPATCH_CONSOLE_JOURNAL, else the platform data dir).
    journal_path: Path | None = None
    #: An ETA moving later by at least this many minutes is a change (console/session/changes.py).
    eta_slip_minutes: float = 15
    #: Terminal notifications (bell, OSC 9/777: console/notify.py) for changes of these kinds.
    notify: bool = False
    notify_kinds: tuple[str, ...] = ("new-red",)
    #: Wrap notifications for tmux passthrough (the CLI sets it when $TMUX is set).
    notify_tmux: bool = False
    #: How notifications reach the terminal (console.notify.METHODS); the CLI chooses them from
    #: the terminal's environment or --notify-via.
    notify_methods: tuple[str, ...] = ("bell", "osc9", "osc777")

    def __post_init__(self) -> None:
        if self.refresh_seconds <= 0:
            raise ValueError("refresh_seconds must be positive")
        if self.page_size < 1:
            raise ValueError("page_size must be at least 1")
        if self.palette not in PALETTES:
            raise ValueError(f"palette must be one of {', '.join(PALETTES)}")
        # 16 is the engine's ceiling (console.bulk.engine.MAX_CONCURRENCY) and the CLI's limit.
        if not 1 <= self.bulk_concurrency <= 16:
            raise ValueError("bulk_concurrency must be between 1 and 16")
        if self.settle_window is not None and not 0 <= self.settle_window <= 3600:
            raise ValueError("settle_window must be between 0 and 3600 seconds")
        if not 0 < self.eta_slip_minutes <= MAX_ETA_SLIP_MINUTES:
            raise ValueError(f"eta_slip_minutes must be more than 0 and at most {MAX_ETA_SLIP_MINUTES}")
        if self.notify_kinds != ("new-red",):
            from console.notify import NOTIFY_KINDS

            if not self.notify_kinds or any(k not in NOTIFY_KINDS for k in self.notify_kinds):
                raise ValueError(f"notify_kinds must be among {', '.join(NOTIFY_KINDS)}")
