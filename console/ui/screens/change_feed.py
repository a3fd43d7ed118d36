"""The change feed: what changed between refreshes, newest first, in words.

It shows the session's :class:`~console.session.changes.ChangeFeed` (the last N events, kept
across refreshes, whatever the list's filter hides). Each entry is two lines: the time (UTC, as
``watch`` prints it), ``!`` for a change to red, the order and its worker; then what changed.

Keys: ``enter`` goes to the order (the screen is dismissed with its ref; the app highlights it
in the list, which acknowledges it), ``1`` red changes only, ``0`` every change, ``a``
acknowledges every new red (posted as :class:`~console.ui.messages.AcknowledgeAllNewReds`: the
app owns the counter), ``escape``/``q`` closes. The app calls :meth:`ChangeFeedScreen.update_feed` after each
refresh, so an open feed stays current.

Every string comes from an event (sanitized by the detector; the handle through
``OrderRef.describe``) and is put in :class:`~rich.text.Text`: nothing is parsed as markup.
"""

from __future__ import annotations

from datetime import timezone
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console.api.vocab import OrderRef
from console.session.changes import ChangeEvent, ChangeFeed
from console.ui.messages import AcknowledgeAllNewReds
from console.ui.screens.help import hanging
from console.ui.screens.picker import VimOptionList
from console.ui.textual_compat.bindings import key_display

#: The mark of a change to red (a risk or the worst level turned red, an order arrived red):
#: ASCII, so it reads the same without colour and in ``--ascii``.
RED_MARK = "!"


def what_changed(event: ChangeEvent) -> str:
    """The change in words, without the order and worker the entry's first line names."""
    what = event.what()
    return f"{what[:1].upper()}{what[1:]}."


#: Where the second line (what changed) starts, and where its wrapped lines continue.
WHAT_INDENT = 4


def entry(event: ChangeEvent, *, ascii: bool = False, width: int | None = None) -> Text:
    """One event as the feed shows it: two lines, the second wrapped to ``width`` cells under
    itself (None: unwrapped)."""
    when = event.time.astimezone(timezone.utc).strftime("%H:%M:%SZ")
    red = event.is_red
    dot = " - " if ascii else " · "
    text = Text(no_wrap=False)
    text.append(when, "dim")
    text.append(" ")
    text.append(RED_MARK if red else " ", "bold red" if red else "")
    text.append(" ")
    text.append(event.ref.describe(), "bold")
    text.append(dot)
    text.append(f"worker {event.worker}" if event.worker else "no worker")
    what = Text.assemble(" " * WHAT_INDENT, (what_changed(event), "bold" if red else ""))
    lines = hanging(what, width, WHAT_INDENT) if width else [what]
    return Text("\n").join([text, *lines])


class ChangeFeedScreen(ModalScreen[OrderRef | None]):
    """Dismissed with the ref of the order to go to (``enter``), or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="feed.close"),
        Binding("1", "red_only(True)", "Red only", id="feed.red_only"),
        Binding("0", "red_only(False)", "All changes", id="feed.all"),
        Binding("a", "acknowledge_all", "Acknowledge all", id="feed.acknowledge"),
    ]

    DEFAULT_CSS = """
    ChangeFeedScreen {
        align: center middle;
        background: $background 60%;
    }
    ChangeFeedScreen > #feed-dialog {
        width: 100;
        max-width: 100%;
        height: 100%;
        padding: 0 1;
        background: $panel;
        border: thick $primary;
        overflow: hidden;
    }
    App.-ascii ChangeFeedScreen > #feed-dialog {
        border: ascii $primary;
    }
    ChangeFeedScreen #feed-title {
        text-style: bold;
    }
    ChangeFeedScreen #feed-list {
        height: 1fr;
        border: none;
        background: $panel;
    }
    ChangeFeedScreen #feed-empty {
        height: 1fr;
        padding: 1 0;
        color: $text-muted;
    }
    ChangeFeedScreen #feed-keys {
        color: $text-muted;
    }
    """

    def __init__(self, feed: ChangeFeed, *, ascii: bool = False, empty_message: str = "",
                 red_only: bool = False) -> None:
        super().__init__()
        self.feed = feed
        self.ascii = ascii
        self.empty_message = empty_message or "No changes yet."
        self.red_only = red_only
        self._shown: list[ChangeEvent] = []
        self._width: int | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="feed-dialog"):
            yield Static(id="feed-title")
            yield VimOptionList(id="feed-list")
            yield Static(id="feed-empty")
            yield Static(id="feed-keys")

    def on_mount(self) -> None:
        self.update_feed()
        self.query_one(VimOptionList).focus()

    def on_resize(self) -> None:
        # Entries are wrapped to the list's width: again when it changes.
        width = self.query_one(VimOptionList).scrollable_content_region.width or None
        if width != self._width:
            self.call_after_refresh(self.update_feed)

    # ------------------------------------------------------------------ what it shows

    def update_feed(self) -> None:
        """Show the feed as it is now (after a refresh, a filter change, an acknowledgement),
        keeping the highlighted event when it is still listed."""
        options = self.query_one(VimOptionList)
        highlighted = options.highlighted
        current = self._shown[highlighted] if highlighted is not None and highlighted < len(self._shown) else None
        events = self.feed.events(red_only=self.red_only)
        self._shown = events
        options.clear_options()
        width = options.scrollable_content_region.width or None
        self._width = width
        options.add_options(Option(entry(e, ascii=self.ascii, width=width), id=str(i))
                            for i, e in enumerate(events))
        if events:
            options.highlighted = events.index(current) if current in events else 0
        empty = self.query_one("#feed-empty", Static)
        options.display = bool(events)
        empty.display = not events
        if not events:
            if self.red_only and len(self.feed):
                empty.update(Text(f"No change to red among the {len(self.feed):,} kept. "
                                  f"{self._key('red_only(False)', '0')} shows every change."))
            else:
                empty.update(Text(self.empty_message))
        self.query_one("#feed-title", Static).update(self._title())
        self.query_one("#feed-keys", Static).update(self._keys())

    def _title(self) -> Text:
        shown = "red changes only" if self.red_only else "every change"
        title = Text("Changes, newest first", "bold")
        title.append(f"  ({shown}, {len(self._shown):,} of {len(self.feed):,} kept)", "")
        count = self.feed.new_red_count
        if count:
            title.append(f"  {count:,} new red not looked at", "bold red")
        return title

    def _key(self, action: str, default: str) -> str:
        return key_display(self, action) or default

    def _keys(self) -> Text:
        parts = [
            ("enter", "go to the order"),
            (self._key("red_only(True)", "1"), "red only"),
            (self._key("red_only(False)", "0"), "all"),
            (self._key("acknowledge_all", "a"), "acknowledge all"),
            (self._key("close", "esc"), "close"),
        ]
        text = Text()
        for index, (key, words) in enumerate(parts):
            if index:
                text.append("  ")
            text.append(key, "bold")
            text.append(f" {words}")
        return text

    # ------------------------------------------------------------------ keys

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = int(event.option.id or 0)
        if index < len(self._shown):
            self.dismiss(self._shown[index].ref)

    def action_red_only(self, red_only: bool) -> None:
        if red_only != self.red_only:
            self.red_only = red_only
            self.update_feed()

    def action_acknowledge_all(self) -> None:
        self.post_message(AcknowledgeAllNewReds())

    def action_close(self) -> None:
        self.dismiss(None)

    @property
    def shown(self) -> list[ChangeEvent]:
        """The events listed now, newest first."""
        return list(self._shown)
