"""Risk badges: eight one-cell badges per order and one worst-risk marker, readable without colour.

Each risk (``RISK_KEYS``: S E O R A T B U) has one cell, in that order:

============  =====================  ===================================
level          cell                  why it reads without colour
============  =====================  ===================================
red            ``S`` bold uppercase   a capital letter shouts
yellow         ``s`` lowercase        a small letter warns
green          ``·`` (ASCII ``.``)    a quiet dot: nothing to see
not reported   blank                  no data, no mark
============  =====================  ===================================

The worst-risk marker uses the same glyphs as the detail pane (:func:`console.ui.text.risk_glyph`):
``■`` red, ``▲`` yellow, ``●`` green, ``○`` not reported (ASCII ``#`` ``^`` ``-`` ``?``: no badge
letter, so the marker never reads as a badge).

Colours come from the caller as a :class:`BadgePalette` of Rich styles resolved from the theme
(component classes in ``styles/app.tcss``); nothing here names a colour. The eight cells of a row
are memoised per (levels, palette): there are at most 3^8 combinations, shared by every row.
The characters themselves come from :mod:`console.risk_marks`, shared with the headless output.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from console.api.vocab import RISK_KEYS, RiskLevel
from console.risk_marks import GREEN_DOT, GREEN_DOT_ASCII, LETTERS, badge_char
from console.ui.text import risk_glyph

__all__ = ["GREEN_DOT", "GREEN_DOT_ASCII", "LETTERS", "BadgePalette", "badge_char", "badge_text", "legend"]


@dataclass(eq=False)
class BadgePalette:
    """Rich styles per level, resolved once from the theme by the widget that draws badges."""

    red: Style
    yellow: Style
    green: Style
    unknown: Style
    ascii: bool = False
    #: Styles of the worst-risk marker (a coloured glyph, no background); badges' if None.
    markers: dict[RiskLevel, Style] | None = None
    _cells: dict[tuple[RiskLevel, ...], list[Segment]] = field(default_factory=dict, repr=False)

    def style(self, level: RiskLevel) -> Style:
        if level is RiskLevel.RED:
            return self.red
        if level is RiskLevel.YELLOW:
            return self.yellow
        if level is RiskLevel.GREEN:
            return self.green
        return self.unknown

    def badges(self, levels: tuple[RiskLevel, ...]) -> list[Segment]:
        """The eight badge cells for ``levels`` (one per RISK_KEYS entry)."""
        cells = self._cells.get(levels)
        if cells is None:
            cells = [
                Segment(badge_char(letter, level, ascii=self.ascii), self.style(level))
                for letter, level in zip(LETTERS, levels)
            ]
            self._cells[levels] = cells
        return cells

    def marker(self, level: RiskLevel) -> Segment:
        """The worst-risk marker cell."""
        style = self.markers.get(level, self.style(level)) if self.markers else self.style(level)
        return Segment(risk_glyph(level, ascii=self.ascii), style)


def badge_text(levels: tuple[RiskLevel, ...], palette: BadgePalette) -> Text:
    """The eight badges as a Text (help screen, tests)."""
    out = Text(no_wrap=True)
    for segment in palette.badges(levels):
        out.append(segment.text, segment.style)
    return out


def legend(palette: BadgePalette) -> list[Text]:
    """Lines explaining the badges and the marker, for the help screen."""
    ascii = palette.ascii
    lines: list[Text] = []
    levels = (
        (RiskLevel.RED, "red", "bold capital letter"),
        (RiskLevel.YELLOW, "yellow", "small letter"),
        (RiskLevel.GREEN, "green", f"a dot ({badge_char('S', RiskLevel.GREEN, ascii=ascii)})"),
        (RiskLevel.UNKNOWN, "not reported", "blank"),
    )
    for level, word, how in levels:
        sample = badge_char("S", level, ascii=ascii)
        lines.append(
            Text.assemble(
                (f" {sample} ", palette.style(level)), "  ",
                (risk_glyph(level, ascii=ascii), palette.marker(level).style),
                f"  {word}: badge is {how}; row marker {risk_glyph(level, ascii=ascii)}",
            )
        )
    lines.append(Text(""))
    lines.append(Text("Badge positions, left to right (the list header spells them):"))
    for key, letter, words in RISK_KEYS:
        lines.append(Text(f"  {letter}  {key.replace('_', ' ')}: {words}"))
    return lines
