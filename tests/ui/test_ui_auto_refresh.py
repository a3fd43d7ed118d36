"""The order list refreshes itself every ``refresh_seconds`` (no key pressed).

Regression: the app's timer callback was named ``_auto_refresh``, an attribute Textual's DOMNode
sets to None on every widget and app, so the timer called nothing and the list never refreshed.
"""

from __future__ import annotations

from console.sandbox.core import IN_PROCESS_BASE_URL
from console.settings import Settings
from tests.support.ui_support import loaded, make_app, wait_until


def first_page_requests(interceptor) -> int:
    return sum(1 for method, path in interceptor.seen
               if method == "GET" and path.split("?")[0] == "/orders/" and "pagination_token" not in path)


async def test_the_list_reloads_on_its_own_every_refresh_interval() -> None:
    app, sb, interceptor = make_app(orders=30, settings=Settings(base_url=IN_PROCESS_BASE_URL, refresh_seconds=0.2))
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await wait_until(pilot, lambda: app.session.loads >= 3, what="two automatic refreshes")
        assert first_page_requests(interceptor) >= 3
