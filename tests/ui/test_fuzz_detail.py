"""Fuzz the detail renderer: orders generated from the reference schemas (with hostile strings,
huge numbers, odd timestamps) are shown by ``DetailPane.show_order`` in a Pilot app; the screen
is rendered each time. Nothing may raise, and no raw control character may reach the screen.

The bodies are drawn first (hypothesis, derandomized, no shrinking needed to find a crash's
input: the failing body is printed), then fed to one running app, which keeps this bounded.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from textual.app import App, ComposeResult

from console.api.models import Order, parse_order
from console.ui.detail import DETAIL_CSS_PATH, DetailPane
from tests.support.hostile import HUGE_INT, assert_no_raw_controls, check_svg, screen_text
from tests.api.test_fuzz_models import body_strategy, fuzz, with_unknown_fields

NOW = datetime(2026, 1, 1, 10, 7, tzinfo=timezone.utc)

# Values no float can hold and timestamps from the edges of the calendar, mixed into the bodies.
ODD_NUMBERS = st.sampled_from([HUGE_INT, -HUGE_INT, 0, -1, 10 ** 18, 1e308, -1e-308, 2 ** 63])
ODD_TIMES = st.sampled_from(["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "not a time", "", "2026-13-45T99:99:99Z",
                             "1970-01-01T00:00:00+23:59", "2026-01-01 10:00:00+00:00"])


@st.composite
def odd_orders(draw: st.DrawFn) -> Any:
    body = draw(with_unknown_fields(body_strategy("GetOrderTimelineResponse")))
    if isinstance(body, dict):
        for key in draw(st.lists(st.sampled_from(["distance", "duration", "tracking_rate", "capacity_used",
                                                  "deviation_from_destination", "fulfillment_attempt"]), max_size=3)):
            body[key] = draw(ODD_NUMBERS)
        for key in draw(st.lists(st.sampled_from(["scheduled_at", "created_at", "completed_at", "started_at"]),
                                 max_size=2)):
            body[key] = draw(ODD_TIMES)
    return body


def draw_orders(examples: int) -> list[Order]:
    orders: list[Order] = []

    @fuzz(examples)
    @given(body=odd_orders())
    def collect(body: Any) -> None:
        try:
            orders.append(parse_order(json.dumps(body).encode()))
        except ValidationError:
            pass

    collect()
    return orders


class PaneApp(App[None]):
    CSS_PATH = [DETAIL_CSS_PATH]

    def compose(self) -> ComposeResult:
        yield DetailPane(now=lambda: NOW)


async def _show_all(orders: list[Order]) -> None:
    assert orders, "the generator produced no order that parses"
    app = PaneApp()
    async with app.run_test(size=(120, 60)) as pilot:
        pane = app.query_one(DetailPane)
        for order in orders:
            try:
                pane.show_order(order)
                await pilot.pause()
                assert pane.order is order  # shown, not skipped
                assert_no_raw_controls(screen_text(app), "screen")
            except Exception:
                print("failing order:", order.model_dump_json()[:2000])
                raise
            assert app.is_running
        check_svg(app.export_screenshot())


async def test_generated_orders_render_in_the_detail_pane():
    await _show_all(draw_orders(10))


@pytest.mark.slow
async def test_generated_orders_render_in_the_detail_pane_full_run():
    await _show_all(draw_orders(200))
