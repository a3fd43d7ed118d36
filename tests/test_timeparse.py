"""parse_when: the forms a supervisor may type for a reschedule, and the refusals they see."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.timeparse import parse_when

BERLIN = ZoneInfo("Europe/Berlin")
# 10:15 in Berlin (UTC+1 in December).
NOW = datetime(2026, 12, 7, 9, 15, tzinfo=timezone.utc)


def when(text: str, now: datetime = NOW, tz=BERLIN) -> datetime:
    return parse_when(text, now=now, tz=tz)


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("+30m", timedelta(minutes=30)),
        ("+2h", timedelta(hours=2)),
        ("+1h30m", timedelta(hours=1, minutes=30)),
        ("+90m", timedelta(minutes=90)),
        (" +1H ", timedelta(hours=1)),
        ("+45min", timedelta(minutes=45)),
    ],
)
def test_relative_times_are_now_plus_the_duration(text, delta):
    result = when(text)
    assert result.tzinfo is not None
    assert result - NOW == delta
    assert result.utcoffset() == timedelta(hours=1)


def test_clock_time_is_today_in_the_given_zone():
    result = when("14:30")
    assert result == datetime(2026, 12, 7, 14, 30, tzinfo=BERLIN)
    assert result.astimezone(timezone.utc) == datetime(2026, 12, 7, 13, 30, tzinfo=timezone.utc)


def test_clock_time_already_passed_today_is_refused_not_rolled_over():
    with pytest.raises(ValueError) as info:
        when("09:00")
    message = str(info.value)
    assert "09:00 has already passed today" in message
    assert "10:15" in message
    assert "2026-12-08T09:00" in message


def test_the_current_minute_counts_as_passed():
    with pytest.raises(ValueError, match="already passed"):
        when("10:15")


def test_clock_time_in_another_zone_than_utc():
    # 09:30 UTC is still ahead of 09:15 UTC, but 09:30 Berlin has passed.
    assert when("09:30", tz=timezone.utc) == datetime(2026, 12, 7, 9, 30, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="already passed"):
        when("09:30", tz=BERLIN)


def test_iso_without_offset_is_read_in_the_given_zone():
    assert when("2026-12-08T08:00") == datetime(2026, 12, 8, 8, 0, tzinfo=BERLIN)
    assert when("2026-12-08 08:00:30") == datetime(2026, 12, 8, 8, 0, 30, tzinfo=BERLIN)


def test_iso_with_offset_keeps_its_offset():
    result = when("2026-12-08T08:00:00+05:30")
    assert result.utcoffset() == timedelta(hours=5, minutes=30)
    assert when("2026-12-08T08:00:00Z") == datetime(2026, 12, 8, 8, 0, tzinfo=timezone.utc)


def test_iso_in_the_past_is_refused():
    with pytest.raises(ValueError, match="is in the past"):
        when("2026-12-07T09:00:00Z")
    with pytest.raises(ValueError, match="is in the past"):
        when("2026-12-07T10:00")  # Berlin, before 10:15


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "No time given"),
        ("   ", "No time given"),
        ("tomorrow", "Cannot read 'tomorrow' as a time"),
        ("+", "as a relative time"),
        ("+30", "as a relative time"),
        ("+-5m", "as a relative time"),
        ("+0m", "not in the future"),
        ("25:00", "not a time of day"),
        ("12:60", "not a time of day"),
        ("2026-12-08", "date without a time"),
        ("2026-13-08T10:00", "not a valid date and time"),
        ("2026-12-08T10:00+99:00", "not a valid date and time"),
        ("14h30", "Cannot read"),
    ],
)
def test_unreadable_input_is_refused_with_a_message(text, fragment):
    with pytest.raises(ValueError) as info:
        when(text)
    assert fragment in str(info.value)


def test_control_characters_in_input_are_not_echoed_back():
    with pytest.raises(ValueError) as info:
        when("\x1b[2J+1h")
    assert "\x1b" not in str(info.value)


def test_naive_now_is_a_programming_error():
    with pytest.raises(TypeError):
        parse_when("+1h", now=datetime(2026, 12, 7, 9, 15), tz=BERLIN)


@given(hours=st.integers(0, 48), minutes=st.integers(0, 59))
def test_any_positive_relative_time_is_exactly_that_far_ahead(hours, minutes):
    text = "+" + (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")
    delta = timedelta(hours=hours, minutes=minutes)
    if delta == timedelta(0):
        with pytest.raises(ValueError):
            when(text)
    else:
        assert when(text) - NOW == delta


@given(text=st.text(max_size=40))
def test_any_text_gives_a_future_aware_time_or_a_value_error(text):
    try:
        result = when(text)
    except ValueError as error:
        assert str(error)
        assert not any(ord(ch) < 32 for ch in str(error))
    else:
        assert result.tzinfo is not None
        assert result > NOW


@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
)
def test_iso_round_trip_in_the_given_zone(moment):
    moment = moment.replace(microsecond=0)
    text = moment.isoformat()
    aware = moment.replace(tzinfo=BERLIN)
    if aware <= NOW:
        with pytest.raises(ValueError, match="in the past"):
            when(text)
    else:
        assert when(text) == aware
