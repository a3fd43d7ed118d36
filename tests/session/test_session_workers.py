"""The reassign picker's worker choices (console/session/workers.py), from loaded order rows."""

from __future__ import annotations

import pytest

from console.api.models import Order
from console.api.summaries import OrderSummary
from console.api.vocab import OrderRef
from console.session.workers import (
    Presence, WorkerChoice, describe_worker, ops_group_to_send, search_workers, validate_worker_handle,
    worker_choices,
)
from console.session.table import OrderRow


def row(handle: str, worker: str | None, *, status: str = "assigned", offline: str | None = None,
        name: str | None = None, group: str | None = None) -> OrderRow:
    data = {"order_handle": handle, "status": status}
    if group is not None:
        data["ops_group_handle"] = group
    if worker is not None:
        data["worker_handle"] = worker
    if name is not None:
        data["worker_name"] = name
    if offline is not None:
        data["risks"] = {"is_offline": offline, "moving_too_slow": "red"}
    return OrderRow(Order.model_validate(data))


def by_handle(choices: list[WorkerChoice]) -> dict[str, WorkerChoice]:
    return {c.handle: c for c in choices}


def test_counts_only_open_orders_and_keeps_workers_of_closed_ones() -> None:
    rows = [row("a", "w1"), row("b", "w1", status="ongoing"), row("c", "w1", status="completed"),
            row("d", "w2", status="cancelled"), row("e", None)]
    choices = by_handle(worker_choices(rows))
    assert set(choices) == {"w1", "w2"}
    assert choices["w1"].open_orders == 2
    assert choices["w2"].open_orders == 0


def test_presence_comes_from_is_offline_on_open_orders_only() -> None:
    rows = [
        row("a", "green", offline="green"), row("b", "green", offline="green"),
        row("c", "mixed", offline="green"), row("d", "mixed", offline="yellow"),
        row("e", "red", offline="red"),
        row("f", "nolabel"),  # moving_too_slow alone says nothing of the device
        row("g", "closed-red", status="completed", offline="red"),
        row("h", "closed-red", offline=None),
    ]
    choices = by_handle(worker_choices(rows))
    assert choices["green"].presence is Presence.ONLINE
    assert choices["mixed"].presence is Presence.OFFLINE
    assert choices["red"].presence is Presence.OFFLINE
    assert choices["nolabel"].presence is Presence.UNKNOWN
    # A completed order's label is history: with no label on an open order, unknown.
    assert choices["closed-red"].presence is Presence.UNKNOWN


def test_reads_summaries_as_well_as_rows() -> None:
    summary = OrderSummary(OrderRef("a"), "assigned", worker="w1", worker_name="Ann",
                           risks={"is_offline": "red"})
    (choice,) = worker_choices([summary])
    assert choice == WorkerChoice("w1", "Ann", 1, Presence.OFFLINE)


def test_name_is_the_first_given_and_order_is_case_insensitive() -> None:
    rows = [row("a", "bob"), row("b", "bob", name="Bob B"), row("c", "Alice", name="Alice A"),
            row("d", "bob", name="Other")]
    choices = worker_choices(rows)
    assert [c.handle for c in choices] == ["Alice", "bob"]
    assert choices[1].name == "Bob B"


def test_search_by_substring_of_handle_or_name_prefix_first() -> None:
    choices = [WorkerChoice("ann-x", None, 0, Presence.UNKNOWN),
               WorkerChoice("joanne", "Jo", 1, Presence.ONLINE),
               WorkerChoice("zed", "Annie Zed", 2, Presence.OFFLINE),
               WorkerChoice("bob", "Bob", 0, Presence.UNKNOWN)]
    assert [c.handle for c in search_workers(choices, "ANN")] == ["ann-x", "joanne", "zed"]
    assert [c.handle for c in search_workers(choices, "")] == ["ann-x", "joanne", "zed", "bob"]
    assert search_workers(choices, "nobody") == []


@pytest.mark.parametrize(("text", "message"), [
    ("", "Worker handle is empty"),
    ("   ", "only white space"),
    (" w1", "starts or ends with white space"),
    ("w\x1b1", "control or invisible characters"),
    ("..", "are not worker handles"),
    ("%2e%2E", "are not worker handles"),
    ("w" * 257, "longer than 256"),
])
def test_typed_handle_refused_with_a_worker_message(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_worker_handle(text)
    assert message.lower() in str(info.value).lower()
    assert "order" not in str(info.value)


def test_typed_handle_accepted_unchanged() -> None:
    assert validate_worker_handle("driver-07@fleet") == "driver-07@fleet"


def test_description_is_control_free() -> None:
    text = describe_worker(WorkerChoice("w\x1b[31m", "N\nx", 1, Presence.ONLINE))
    assert text.isprintable()
    assert "1 open order," in text and text.endswith("online")


def test_a_worker_s_ops_groups_are_those_of_their_loaded_orders() -> None:
    rows = [row("a", "w1", group="north"), row("b", "w1", group="south", status="completed"),
            row("c", "w1", group="north"), row("d", "w2"), row("e", None, group="east")]
    choices = by_handle(worker_choices(rows))
    assert choices["w1"].ops_groups == ("north", "south")  # closed orders say where they work too
    assert choices["w2"].ops_groups == ()


@pytest.mark.parametrize("worker_groups, order_groups, sent", [
    (("south",), ["north"], "south"),       # known elsewhere: the worker's group is sent
    (("north",), ["north"], None),          # the order's own group: not needed
    (("north",), ["north", "south"], "north"),  # marked orders, one of them elsewhere
    (("north",), [None], "north"),          # the order shows no group: the worker's is known
    ((), ["north"], None),                  # nothing known of the worker: nothing guessed
    (("north", "south"), ["east"], None),   # several: which one cannot be known
])
def test_ops_group_to_send(worker_groups, order_groups, sent) -> None:
    assert ops_group_to_send(worker_groups, order_groups) == sent
