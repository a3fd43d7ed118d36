"""``--ascii``: a last line of defence that keeps every glyph on screen in ASCII.

The console's own widgets draw ASCII variants themselves in this mode (badges ``.``, markers
``# ^ - ?``, ``...``, ASCII borders via the ``App.-ascii`` stylesheet rules). Textual's widgets
do not know about it: scrollbar ends (``▇``), the footer's separator (``▏``), toasts' borders,
``hkey``/``vkey`` pane borders. :class:`AsciiFilter` is a Textual line filter (like its
``Monochrome`` filter for NO_COLOR) that replaces those glyphs in every rendered line with an
ASCII look-alike of the same width (one cell), so nothing reaches a terminal that cannot draw it.

Only symbol ranges are translated (general punctuation, arrows, box drawing, blocks, geometric
shapes, dingbats, braille): letters in API data (``Zürich``) are left as they are.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from rich.cells import get_character_cell_size
from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

_RANGES = (
    (0x2010, 0x205E),  # general punctuation: dashes, bullets, ellipsis, quotes
    (0x2190, 0x21FF),  # arrows
    (0x2500, 0x25FF),  # box drawing, block elements, geometric shapes
    (0x2600, 0x27BF),  # miscellaneous symbols, dingbats (check marks, warning sign)
    (0x2800, 0x28FF),  # braille (the detail pane's track drawing)
    (0x1F300, 0x1FAFF),  # emoji (the command palette's search icon)
)

_EXPLICIT = {
    "\u00a0": " ", "\u00b7": ".", "\u2026": ".", "\u2022": "*", "\u2014": "-", "\u2013": "-",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u25a0": "#", "\u25b2": "^", "\u25bc": "v", "\u25b6": ">", "\u25c0": "<",
    "\u25cf": "o", "\u25cb": "o", "\u25c6": "*", "\u25c7": "*",
    "\u2713": "*", "\u2714": "*", "\u2717": "x", "\u2718": "x", "\u26a0": "!",
    "\u2190": "<", "\u2192": ">", "\u2191": "^", "\u2193": "v",
    "\u2580": "-", "\u2584": "_", "\u2594": "-", "\u2581": "_", "\u258f": "|", "\u2595": "|",
    "\u258e": "|", "\u258d": "|", "\u258c": "|", "\u2590": "|",
}


def _ascii_for(char: str) -> str:
    if char in _EXPLICIT:
        return _EXPLICIT[char]
    code = ord(char)
    if 0x2800 <= code <= 0x28FF:
        return " " if code == 0x2800 else "."
    name = unicodedata.name(char, "")
    if name.startswith("BOX DRAWINGS"):
        horizontal, vertical = "HORIZONTAL" in name, "VERTICAL" in name
        if horizontal and not vertical:
            return "-"
        if vertical and not horizontal:
            return "|"
        return "+"
    if "BLOCK" in name or "SHADE" in name:
        return "#"
    if "DASH" in name or "HYPHEN" in name:
        return "-"
    if "ARROW" in name:
        return ">"
    return "*"


@lru_cache(maxsize=1)
def translation() -> dict[int, str]:
    """``str.translate`` table: built on first use (a few ms), not at import."""
    codes = {ord(c) for c in _EXPLICIT}
    for start, end in _RANGES:
        codes.update(range(start, end + 1))
    # The same number of cells: a wide (emoji-presentation) symbol becomes two characters.
    return {code: _ascii_for(chr(code)) * get_character_cell_size(chr(code)) for code in codes}


def to_ascii(text: str) -> str:
    """``text`` with every symbol glyph replaced by a one-cell ASCII look-alike."""
    return text.translate(translation()) if not text.isascii() else text


class AsciiFilter(LineFilter):
    """Replaces symbol glyphs in every rendered segment (see the module doc)."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        table = translation()
        out: list[Segment] = []
        for segment in segments:
            text = segment.text
            if segment.control or text.isascii():
                out.append(segment)
            else:
                out.append(Segment(text.translate(table), segment.style, segment.control))
        return out
