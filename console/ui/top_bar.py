"""The top bar's scope: the profile and the ops group the console shows, fitted to its room.

The top bar is one line: ``SANDBOX``, the brand, ``READ-ONLY`` (or "can write"), the scope, the
order count and the age of the data. The markers, the count and the age have fixed widths and
are never shortened; the scope takes the room left (``width: 1fr``) and shortens itself to fit.
As the terminal narrows, in this fixed order:

1. the brand "Dispatch console" goes (below 120 columns; styles/app.tcss);
2. the scope drops its words: "audit · ops group north" becomes "audit · north", and
   "audit · all ops groups" becomes "audit" (showing every ops group is the default);
3. the scope is cut with an ellipsis, the profile name first kept whole.

So at 80 columns the SANDBOX and READ-ONLY markers, the profile name (up to ~15 cells), the count
and the age all show.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from console.api.sanitize import sanitize


def scope_forms(profile: str | None, ops_group: str | None, *, ascii: bool = False) -> list[str]:
    """The scope's wordings, longest first (the bar shows the first that fits)."""
    dot = " - " if ascii else " · "
    profile = sanitize(profile) if profile else None
    group = sanitize(ops_group) if ops_group else None
    full = f"ops group {group}" if group else "all ops groups"
    forms = [f"{profile}{dot}{full}" if profile else full]
    if profile:
        forms.append(f"{profile}{dot}{group}" if group else profile)
    elif group:
        forms.append(group)
    return forms


def fit_scope(forms: list[str], width: int, *, ascii: bool = False) -> str:
    """The first form that fits ``width`` cells, else the last one cut with an ellipsis."""
    for form in forms:
        if cell_len(form) <= width:
            return form
    if width <= 0:
        return ""
    ellipsis = "..." if ascii else "…"
    text = forms[-1]
    while text and cell_len(text) + cell_len(ellipsis) > width:
        text = text[:-1]
    return (text + ellipsis) if text else ellipsis[:width]


class ScopeLabel(Widget):
    """The profile and ops group, in the room the fixed parts of the top bar leave."""

    DEFAULT_CSS = """
    ScopeLabel {
        width: 1fr;
        height: 1;
    }
    """

    def __init__(self, profile: str | None, ops_group: str | None, *, ascii: bool = False,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.ascii = ascii
        self.forms = scope_forms(profile, ops_group, ascii=ascii)

    @property
    def text(self) -> str:
        """What is shown at the current width (one cell is kept free before the count)."""
        return fit_scope(self.forms, self.size.width - 1, ascii=self.ascii)

    def render(self) -> Text:
        return Text(self.text, no_wrap=True, overflow="crop")


class StatusLabel(Static):
    """A fixed-width label updated without a layout pass (the width never changes), so a
    ticking "updated 5s ago" costs a few hundred bytes over SSH, not a screen relayout."""

    def set_text(self, content: str | Text) -> None:
        if content != getattr(self, "_last", None):
            self._last = content
            self.update(Text(content) if isinstance(content, str) else content, layout=False)


class NewRedLabel(Widget):
    """"3 new red": the orders that newly turned red and that the supervisor has not looked at.

    Words, so it reads without colour and in ``--ascii``. Hidden at 0. Shown, it sits before the
    order count and takes its room from the scope (which shortens, as it does for the other
    labels): a waiting new red matters more than the scope's wording. Its width follows its text
    (a layout only when the count changes: at most once a refresh, or on an acknowledgement).
    """

    DEFAULT_CSS = """
    NewRedLabel {
        width: auto;
        height: 1;
        margin-right: 1;
        display: none;
        color: $text-error;
        text-style: bold;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.count = 0

    @property
    def text(self) -> str:
        # No key hint: at 80 columns with SANDBOX and READ-ONLY, "(n)" would cut a short
        # profile name ("audit") from the scope. The help and the palette name the key.
        return f"{self.count:,} new red" if self.count else ""

    def show_count(self, count: int) -> None:
        if count == self.count:
            return
        self.count = count
        self.display = count > 0
        self.refresh(layout=True)

    def render(self) -> Text:
        return Text(self.text, no_wrap=True, overflow="crop")
