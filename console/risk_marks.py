"""How a risk reads as text, for every output: the console's badges and the headless commands.

Pure functions of :class:`~console.api.vocab.RiskLevel`, no Textual, no Rich. Each of the eight
risks (``RISK_KEYS``, badge letters S E O R A T B U) has one character:

============  ===============  ===================================
level          character        why it reads without colour
============  ===============  ===================================
red            ``S`` uppercase  a capital letter shouts
yellow         ``s`` lowercase  a small letter warns
green          ``·`` (``.``)    a quiet dot: nothing to see
not reported   blank            no data, no mark
============  ===============  ===================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from console.api.vocab import RISK_KEY_NAMES, RISK_KEYS, RiskLevel, risk_level, worst_risk

#: The one-letter code of each risk, in badge order.
LETTERS = tuple(letter for _, letter, _ in RISK_KEYS)
GREEN_DOT = "·"
GREEN_DOT_ASCII = "."

#: The worst-risk marker of a row as the console's list draws it (Unicode).
MARKERS = {
    RiskLevel.RED: "■",
    RiskLevel.YELLOW: "▲",
    RiskLevel.GREEN: "●",
    RiskLevel.UNKNOWN: "○",
}
#: The same shapes in ASCII where Unicode cannot be written (none of them a badge letter).
MARKERS_ASCII = {
    RiskLevel.RED: "#",
    RiskLevel.YELLOW: "^",
    RiskLevel.GREEN: "-",
    RiskLevel.UNKNOWN: "?",
}


def badge_char(letter: str, level: RiskLevel, *, ascii: bool = False) -> str:
    """The single character of one badge: ``S`` red, ``s`` yellow, ``·`` green, blank unknown."""
    if level is RiskLevel.RED:
        return letter.upper()
    if level is RiskLevel.YELLOW:
        return letter.lower()
    if level is RiskLevel.GREEN:
        return GREEN_DOT_ASCII if ascii else GREEN_DOT
    return " "


def levels_of(risks: Mapping[str, Any] | None) -> tuple[RiskLevel, ...]:
    """The level of each of the eight risks, in badge order."""
    return tuple(risk_level(risks, key) for key in RISK_KEY_NAMES)  # type: ignore[arg-type]


def badges(risks: Mapping[str, Any] | None, *, ascii: bool = False) -> str:
    """The eight badge characters of an order's risks, e.g. ``S·o·····``."""
    return "".join(badge_char(letter, level, ascii=ascii) for letter, level in zip(LETTERS, levels_of(risks)))


def marker(risks: Mapping[str, Any] | None, *, ascii: bool = False) -> str:
    """The worst-risk marker of an order's risks."""
    return (MARKERS_ASCII if ascii else MARKERS)[worst_risk(risks)]  # type: ignore[arg-type]


def level_word(level: RiskLevel) -> str:
    """``red``, ``yellow``, ``green`` or ``unknown`` (not reported)."""
    return level.name.lower()
