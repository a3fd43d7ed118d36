"""HeapPolicy: full garbage collections are put off while a load runs, and always come back."""

from __future__ import annotations

import gc

import pytest

from console.ui.heap import HeapPolicy


@pytest.fixture(autouse=True)
def thresholds():
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_a_load_puts_full_collections_off_and_its_end_brings_them_back(thresholds) -> None:
    policy = HeapPolicy()
    policy.load_started()
    assert gc.get_threshold()[:2] == thresholds[:2]
    assert gc.get_threshold()[2] == HeapPolicy.LOADING_THRESHOLD
    policy.load_started()  # a second start (a refresh queued behind) changes nothing
    policy.load_finished(rows=10)
    assert gc.get_threshold() == thresholds


def test_a_failed_or_cancelled_load_brings_them_back_too(thresholds) -> None:
    policy = HeapPolicy()
    policy.load_started()
    policy.load_failed()
    assert gc.get_threshold() == thresholds


def test_a_disabled_policy_leaves_the_collector_alone(thresholds) -> None:
    policy = HeapPolicy(enabled=False)
    policy.load_started()
    assert gc.get_threshold() == thresholds
    policy.load_finished(rows=100_000)
    assert policy.freezes == 0 and gc.get_threshold() == thresholds
