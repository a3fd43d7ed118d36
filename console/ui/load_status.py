"""What the screen says about the orders' loading: the top bar's count and age, and the banner
above the list when a load failed (OFFLINE: nothing was ever loaded; STALE: the rows shown are
from the last load that succeeded). It reads the session's state and changes nothing in it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from console.session.clock import real_seconds
from console.ui.outcomes import error_message, error_title
from console.ui.timefmt import ago
from console.ui.top_bar import StatusLabel

if TYPE_CHECKING:
    from console.session.core import LoadFailed, Session
    from console.settings import Settings


class LoadStatus:
    """The count, the age and the banner; ``loading`` says whether a load is running now."""

    def __init__(self, session: Session, settings: Settings, *, now: Callable[[], datetime],
                 loading: Callable[[], bool]) -> None:
        self.session = session
        self.settings = settings
        self.now = now
        self._loading = loading
        # Created once (not queried on every tick: a query during shutdown finds nothing).
        self.count_label = StatusLabel(id="count")
        self.age_label = StatusLabel(id="age")
        self.banner = Static(id="banner")

    def mounted(self) -> None:
        self.banner.display = False
        self.count_label.set_text("loading orders…")
        self.age_label.set_text("")

    def page_shown(self, loaded: int) -> None:
        self.count_label.set_text(f"loading {loaded:,} orders…")

    def loaded(self) -> None:
        total = self.session.table.total
        self.count_label.set_text(f"{total:,} open order{'s' if total != 1 else ''}")
        self.banner.display = False
        self.age_label.remove_class("-stale")
        self.update_age()

    def failed(self, event: LoadFailed) -> None:
        error = event.error
        title = error_title(error)
        message = error_message(error)
        glyph = "!" if self.settings.ascii else "⚠"
        banner = Text(no_wrap=False)
        if not event.stale:
            banner.append(f"{glyph} OFFLINE ", "bold")
            banner.append(f"Could not load the orders: {title}: ")
        else:
            banner.append(f"{glyph} STALE ", "bold")
            banner.append("Showing the orders from the last successful load; the refresh failed: ")
            banner.append(f"{title}: ")
        banner.append(message)
        banner.append(f". Retrying every {self.settings.refresh_seconds:g} s; r retries now.")
        self.banner.update(banner)
        self.banner.display = True
        self.age_label.add_class("-stale")
        if self.session.last_success is None:
            self.count_label.set_text("no data")
        else:
            self.count_label.set_text(f"{self.session.table.total:,} open (stale)")
        self.update_age()

    def update_age(self) -> None:
        session = self.session
        if self._loading() and session.last_success is not None:
            text = "refreshing…" if not self.settings.ascii else "refreshing..."
        elif session.last_success is None:
            text = "" if session.load_error is None else "never updated"
        else:
            # Real seconds, whatever the world's clock (a sandbox's may run fast).
            seconds = real_seconds(self.now, (self.now() - session.last_success).total_seconds())
            text = f"updated {ago(seconds)} ago"
        self.age_label.set_text(text)
