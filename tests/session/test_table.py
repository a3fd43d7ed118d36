"""The order list's data layer (console/session/table.py): keyed rows, sorting, merging, overrides."""

from __future__ import annotations

import random

from console.api.models import Order, OrderRef, RiskLevel
from console.session.table import CHUNK, OrderRow, OrderTable

KEYS = (
    "delayed_from_scheduled_at", "delayed_from_initial_eta", "is_offline",
    "deviating_from_expected_route", "moving_away_from_destination", "moving_too_slow",
    "in_low_battery", "in_outage",
)


def order(handle: str, *, worst: str = "green", minute: int = 0, status: str = "assigned",
          address: str = "1 Main St", type: str | None = "drop", type_index: int = 0) -> Order:
    risks = {k: "green" for k in KEYS}
    if worst != "green":
        risks["is_offline"] = worst
    return Order.model_validate({
        "order_handle": handle, "status": status, "type": type, "type_index": type_index,
        "fulfillment_attempt": 0, "risks": risks,
        "scheduled_at": f"2026-11-29T18:{minute:02d}:00.000Z",
        "destination": {"geometry": {"type": "Point", "coordinates": [0, 0]}, "address": address},
    })


def handles(table: OrderTable) -> list[str]:
    return [row.ref.order_handle for row in table.view]


def test_default_order_is_worst_risk_then_scheduled_time() -> None:
    table = OrderTable()
    table.extend([
        order("g-early", minute=1), order("y-late", worst="yellow", minute=50),
        order("r-late", worst="red", minute=40), order("r-early", worst="red", minute=5),
        order("y-early", worst="yellow", minute=2),
    ])
    assert handles(table) == ["r-early", "r-late", "y-early", "y-late", "g-early"]


def test_pages_are_spliced_into_sorted_position() -> None:
    rng = random.Random(3)
    orders = [order(f"o{i:04d}", worst=rng.choice(["green", "yellow", "red"]), minute=rng.randrange(60))
              for i in range(1200)]
    table = OrderTable()
    for start in range(0, len(orders), 100):
        table.extend(orders[start:start + 100])
    keys = [row.sort_key for row in table.rows]
    assert keys == sorted(keys)
    assert table.total == 1200
    assert table._keys == keys


def test_row_levels_and_worst_cover_every_risk_value() -> None:
    o = Order.model_validate({
        "order_handle": "h", "status": "ongoing",
        "risks": {"is_offline": "yellow", "in_outage": "red", "custom_new_risk": "red"},
    })
    row = OrderRow(o)
    assert row.levels[2] is RiskLevel.YELLOW and row.levels[7] is RiskLevel.RED
    assert row.levels[0] is RiskLevel.UNKNOWN
    assert row.worst is RiskLevel.RED
    only_unknown_red = Order.model_validate(
        {"order_handle": "h2", "status": "ongoing", "risks": {"brand_new": "red"}}
    )
    assert OrderRow(only_unknown_red).worst is RiskLevel.RED  # a risk without a badge still counts


def test_idle_refresh_changes_nothing_and_keeps_row_objects() -> None:
    table = OrderTable()
    batch = [order(f"o{i}", minute=i % 60) for i in range(300)]
    table.extend(batch)
    before = list(table.view)
    versions = [row.version for row in before]
    result = table.merge([order(f"o{i}", minute=i % 60) for i in range(300)])
    assert not result.changed
    assert all(a is b for a, b in zip(before, table.view))
    assert [row.version for row in table.view] == versions


def test_refresh_merges_changes_removals_and_additions_in_sorted_place() -> None:
    table = OrderTable()
    table.extend([order(f"o{i:03d}", minute=i % 60) for i in range(200)])
    untouched = table.get(OrderRef("o010", "drop", 0, 0))
    version = untouched.version
    fresh = [order(f"o{i:03d}", minute=i % 60) for i in range(200) if i != 5]
    fresh[20] = order("o021", worst="red", minute=21)  # turns red: moves to the top
    fresh.append(order("new", worst="yellow", minute=0))
    merge = table.begin_refresh()
    for start in range(0, len(fresh), 50):
        merge.add_page(fresh[start:start + 50])
    for _ in merge.steps():
        pass
    result = merge.finish()
    assert (result.added, result.removed, result.updated) == (1, 1, 1)
    assert handles(table)[:2] == ["o021", "new"]
    assert table.get(OrderRef("o005", "drop", 0, 0)) is None
    assert table.get(OrderRef("o010", "drop", 0, 0)) is untouched and untouched.version == version
    keys = [row.sort_key for row in table.rows]
    assert keys == sorted(keys)


def test_the_table_keeps_its_own_two_lists_through_loads_refreshes_and_sorts() -> None:
    # The heap policy freezes these lists with the rows; a new list per refresh would be walked
    # by every later full collection (see OrderTable._refill).
    table = OrderTable()
    rows, keys = table.rows, table._keys
    table.extend([order(f"o{i:03d}", minute=i % 60) for i in range(150)])
    table.extend([order(f"p{i:03d}", worst="yellow", minute=i % 60) for i in range(50)])
    fresh = [order(f"o{i:03d}", minute=i % 60) for i in range(150) if i != 7]
    fresh[30] = order("o031", worst="red", minute=3)
    fresh.append(order("new", worst="red", minute=1))
    table.merge(fresh)
    assert handles(table)[:2] == ["new", "o031"]
    table.set_sort(lambda row: row.ref.order_handle, reverse=True)
    table.merge(fresh + [order("zzz")])
    assert handles(table)[0] == "zzz"
    table.replace_order(OrderRef("o001", "drop", 0, 0), order("o001", worst="red", status="completed"))
    table.set_sort(None)
    assert table.rows is rows and table._keys is keys
    assert len(rows) == len(keys) == 151
    assert keys == [row.sort_key for row in rows] == sorted(keys)
    assert table.view is rows


def test_steps_yield_once_per_chunk() -> None:
    table = OrderTable()
    table.extend([order(f"o{i}") for i in range(CHUNK * 2 + 10)])
    merge = table.begin_refresh()
    merge.add_page([order(f"o{i}") for i in range(CHUNK * 2 + 10)])
    assert sum(1 for _ in merge.steps()) == 3


def test_duplicates_across_pages_keep_the_first() -> None:
    table = OrderTable()
    table.extend([order("a"), order("b")])
    result = table.merge([order("a"), order("b"), order("a", worst="red")])
    assert table.total == 2
    assert table.get(OrderRef("a", "drop", 0, 0)).worst is RiskLevel.GREEN
    assert not result.changed


def test_legs_of_one_handle_are_distinct_rows() -> None:
    table = OrderTable()
    table.extend([order("h", type="pick"), order("h", type="drop"), order("h", type="drop", type_index=1)])
    assert table.total == 3
    assert table.index_of(OrderRef("h", "drop", 1, 0)) is not None


def completed(o: Order) -> Order:
    return o.model_copy(update={"status": "completed"})


def test_completion_survives_an_older_load_and_leaves_after_the_next() -> None:
    table = OrderTable()
    table.extend([order("a", minute=1), order("b", minute=2)])
    ref = OrderRef("a", "drop", 0, 0)
    # A refresh starts, then the completion lands, then the refresh (read before) finishes.
    early = table.begin_refresh()
    early.add_page([order("a", minute=1), order("b", minute=2)])
    table.replace_order(ref, completed(order("a", minute=1)))
    for _ in early.steps():
        pass
    early.finish()
    assert table.get(ref).status == "completed"  # the older read did not bring "assigned" back
    # The first load started after the completion: the server no longer lists it; it stays once.
    table.merge([order("b", minute=2)])
    assert table.get(ref) is not None and table.get(ref).status == "completed"
    # The next load: gone.
    result = table.merge([order("b", minute=2)])
    assert table.get(ref) is None and result.removed == 1
    assert table._overrides == {}


def test_filter_view_and_positions() -> None:
    table = OrderTable()
    table.extend([order("alpha", address="Oak St"), order("beta", address="[Ltd] Pine"), order("gamma")])
    table.set_filter(lambda row: "pine" in row.search_text)
    assert handles(table) == ["beta"]
    assert table.index_of(OrderRef("alpha", "drop", 0, 0)) is None
    table.set_filter(None)
    assert len(table) == 3


def test_summary_order_carries_what_the_list_knows() -> None:
    o = order("h", worst="red", address="9 Elm")
    summary = OrderRow(o).summary_order()
    assert summary.order_handle == "h" and summary.status == "assigned"
    assert summary.destination.address == "9 Elm"
    assert summary.risks["is_offline"] == "red"
    assert summary.ref == o.ref


def test_text_filter_matches_like_the_predicate_and_narrows() -> None:
    from console.session.table import TextFilter

    rng = random.Random(5)
    words = ["Oak St", "Pine Ave", "[Ltd] Elm", "配達 Rd", "Grand Blvd"]
    table = OrderTable()
    table.extend([order(f"o{i:03d}", address=f"{i} {rng.choice(words)}", minute=i % 60,
                        worst=rng.choice(["green", "red"])) for i in range(400)])
    for needle in ("oak", "O1", "[ltd]", "配達", "blvd", "zzz", "1 p"):
        expected = [row for row in table.rows if needle.lower() in row.search_text]
        table.set_filter(TextFilter(needle.lower()))
        assert table.view == expected, needle
    table.set_filter(TextFilter("o"))
    wide = list(table.view)
    table.set_filter(TextFilter("o1"))  # narrows: only the rows shown are re-checked
    assert table.view == [row for row in wide if "o1" in row.search_text]
    reds = TextFilter("grand", also=lambda row: row.worst is RiskLevel.RED)
    table.set_filter(reds)
    assert table.view and all(row.worst is RiskLevel.RED and "grand" in row.search_text for row in table.view)


def test_text_filter_follows_refreshes() -> None:
    from console.session.table import TextFilter

    table = OrderTable()
    table.extend([order("a", address="Oak St"), order("b", address="Pine Ave")])
    table.set_filter(TextFilter("oak"))
    assert handles(table) == ["a"]
    table.merge([order("a", address="Elm St"), order("b", address="Oak Ave"), order("c", address="Oak Rd")])
    assert sorted(handles(table)) == ["b", "c"]


def test_the_filter_texts_kept_between_keystrokes_are_not_walked_by_the_collector() -> None:
    # Lists of 50k texts, alive until the data changes, were walked by every full collection.
    import gc

    from console.session.table import TextFilter

    table = OrderTable()
    table.extend([order(f"o{i:03d}", address=f"{i} Oak St") for i in range(300)])
    table.prepare_text_search()
    table.set_filter(TextFilter("o1"))  # a broad needle: select() over the kept texts
    table.set_filter(TextFilter("o12"))  # narrows: select() over the view's texts
    assert handles(table) == [f"o12{i}" for i in range(10)]
    gc.collect()
    assert table._view_texts is not None and len(table._view_texts) == 10
    for kept in (table._texts, table._corpus[2], table._view_texts):
        assert not gc.is_tracked(kept)
