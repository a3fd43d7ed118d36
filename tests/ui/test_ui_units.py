"""Pure pieces of the console UI: badges, columns, relative times, the detail cache, error words."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from rich.cells import cell_len
from rich.style import Style

from console.api import errors as E
from console.api.models import Order, OrderRef, RiskLevel
from console.ui.badges import BadgePalette, badge_char, badge_text, legend
from console.ui.columns import GAP, fit, layout
from console.session.detail_cache import DetailCache
from console.bulk.results import OrderResult, ResultStatus
from console.ui.outcomes import error_title, result_message, result_title
from console.ui.timefmt import ago, compact_duration, relative, scheduled_cell

NOW = datetime(2026, 11, 29, 18, 30, tzinfo=timezone.utc)


def palette(ascii: bool = False) -> BadgePalette:
    return BadgePalette(Style(bold=True), Style(italic=True), Style(dim=True), Style(), ascii=ascii)


def test_badges_read_without_colour() -> None:
    assert badge_char("S", RiskLevel.RED) == "S"
    assert badge_char("S", RiskLevel.YELLOW) == "s"
    assert badge_char("S", RiskLevel.GREEN) == "·"
    assert badge_char("S", RiskLevel.GREEN, ascii=True) == "."
    assert badge_char("S", RiskLevel.UNKNOWN) == " "
    levels = (RiskLevel.RED, RiskLevel.YELLOW, RiskLevel.GREEN, RiskLevel.UNKNOWN) * 2
    assert badge_text(levels, palette()).plain == "Se· At· "  # S E O R A T B U
    assert badge_text(levels, palette(ascii=True)).plain == "Se. At. "
    assert [s.text for s in (palette().marker(level) for level in RiskLevel)] == ["○", "●", "▲", "■"]
    assert all(ord(s.text) < 128 for s in (palette(ascii=True).marker(level) for level in RiskLevel))


def test_legend_names_every_risk_and_level() -> None:
    text = "\n".join(line.plain for line in legend(palette()))
    for words in ("bold capital letter", "small letter", "a dot", "blank", "in low battery", "in outage"):
        assert words in text


@pytest.mark.parametrize("width", [60, 72, 80, 88, 100, 120, 160, 250])
def test_layout_fills_the_width_exactly_and_keeps_the_core(width: int) -> None:
    columns = layout(width)
    assert sum(c.width for c in columns) + GAP * (len(columns) - 1) == width
    names = [c.name for c in columns]
    assert names[:4] == ["marker", "badges", "handle", "status"] and "scheduled" in names
    assert next(c.width for c in columns if c.name == "handle") >= 16


def test_fit_counts_terminal_cells() -> None:
    for text in ("📦 配達 🚚 café", "abc", "x" * 40, "配" * 10):
        for width in (1, 2, 5, 9, 17):
            assert cell_len(fit(text, width)) == width
    assert fit("abcdef", 4) == "abc…"
    assert fit("ab", 4) == "ab  "


def test_relative_times() -> None:
    assert compact_duration(30) == "<1m"
    assert compact_duration(59 * 60) == "59m"
    assert compact_duration(3 * 3600 + 5 * 60) == "3h05"
    assert compact_duration(2 * 86400 + 3 * 3600) == "2d03h"
    assert relative(NOW + timedelta(minutes=12), NOW) == "in 12m"
    assert relative(NOW - timedelta(minutes=12), NOW) == "12m ago"
    assert relative(None, NOW) == "-"
    assert scheduled_cell(NOW - timedelta(minutes=7), NOW, open_order=True) == ("LATE 7m", True)
    assert scheduled_cell(NOW - timedelta(minutes=7), NOW, open_order=False) == ("7m ago", False)
    assert ago(5.9) == "5s" and ago(125) == "2m"


def test_detail_cache_expires_and_evicts() -> None:
    t = [0.0]
    cache: DetailCache[str] = DetailCache(ttl=15, size=2, clock=lambda: t[0])
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"
    cache.put("c", "C")  # evicts b, the least recently used
    assert cache.get("b") is None and cache.get("a") == "A"
    t[0] = 16
    assert cache.get("a") is None


def test_error_words() -> None:
    assert error_title(E.NotFoundError(404, "x"), action="Complete") == "Complete failed: order not found (HTTP 404)"
    assert "HTTP 409" in error_title(E.ConflictError(409, "x"))
    assert "HTTP 503" in error_title(E.ServerError(503, "x"))
    assert error_title(E.RequestNotSent("no")).startswith("not sent")
    doubt = OrderResult(OrderRef("h"), ResultStatus.IN_DOUBT, http_status=502,
                        message="the answer to our request was lost (HTTP 502: Bad gateway)")
    assert result_title(doubt) == "Complete: IN DOUBT"
    assert result_message(doubt).endswith("It may have been applied: look at the order before completing it again.")
    gone = OrderResult(OrderRef("h"), ResultStatus.NOT_FOUND, http_status=404, message="HTTP 404: no such order")
    assert result_title(gone) == "Complete failed: order not found (HTTP 404)"
    assert "Nothing was changed." in result_message(gone)
    earlier = OrderResult(OrderRef("h"), ResultStatus.NOT_APPLIED, earlier="left_in_doubt", message="x")
    assert result_message(earlier).startswith("(in doubt from a finished run)")


def test_same_leg() -> None:
    pick = Order.model_validate({"order_handle": "h", "status": "ongoing", "type": "pick", "type_index": 0})
    assert OrderRef("h", "pick", 0, None).same_leg(pick.ref)
    assert not OrderRef("h", "drop", 0, None).same_leg(pick.ref)
    assert OrderRef("h").same_leg(pick.ref)  # a row without a leg accepts any
    assert not OrderRef("h", "pick", 0, 1).same_leg(OrderRef("h", "pick", 0, 0))
