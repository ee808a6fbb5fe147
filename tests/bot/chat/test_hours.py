"""Business hours in the shop's time zone: open or not, when the team is back, bad settings."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from pydantic import ValidationError

from bot.chat.hours import BusinessHours
from kb.settings import HoursSettings, LotseSettings

WEEKDAYS_9_TO_18 = {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def test_hours_are_read_in_the_shops_time_zone_across_daylight_saving():
    hours = BusinessHours.of(HoursSettings(weekly={**WEEKDAYS_9_TO_18, "sat": "10:00-14:00"}))
    # Winter (UTC+1): 08:30 UTC is 09:30 in Berlin; summer (UTC+2): 07:30 UTC is 09:30.
    assert hours.is_open(utc("2026-11-25T08:30:00"))
    assert not hours.is_open(utc("2026-11-25T07:30:00"))
    assert hours.is_open(utc("2026-07-01T07:30:00"))
    assert not hours.is_open(utc("2026-07-01T16:00:00"))  # 18:00 in Berlin: closed
    assert hours.is_open(utc("2026-11-28T12:00:00"))  # Saturday 13:00
    assert not hours.is_open(utc("2026-11-29T12:00:00"))  # Sunday


def test_when_back_names_today_tomorrow_or_the_day_in_both_languages():
    hours = BusinessHours.of(HoursSettings(weekly=WEEKDAYS_9_TO_18))
    assert hours.when_back(utc("2026-11-25T05:00:00"), "de") == "heute ab 09:00 Uhr"
    assert hours.when_back(utc("2026-11-25T18:00:00"), "en") == "tomorrow from 09:00"
    # Friday evening: back on Monday.
    assert hours.when_back(utc("2026-11-27T18:00:00"), "de") == "am Montag, 30.11., ab 09:00 Uhr"
    assert hours.when_back(utc("2026-11-27T18:00:00"), "en") == "on Monday, 30.11., from 09:00"


def test_holidays_and_split_days_are_respected():
    hours = BusinessHours.of(HoursSettings(weekly={"mon": "08:00-12:00, 13:00-17:00"},
                                           holidays=[date(2026, 12, 7)]))
    assert hours.is_open(utc("2026-11-30T10:00:00"))
    assert not hours.is_open(utc("2026-11-30T11:30:00"))  # 12:30 lunch break
    assert hours.when_back(utc("2026-11-30T11:30:00"), "de") == "heute ab 13:00 Uhr"
    assert not hours.is_open(utc("2026-12-07T10:00:00"))  # the holiday Monday
    assert hours.when_back(utc("2026-12-07T10:00:00"), "de") == "am Montag, 14.12., ab 08:00 Uhr"


def test_a_team_that_never_works_has_no_next_opening():
    hours = BusinessHours.of(HoursSettings(weekly={}))
    assert not hours.is_open() and hours.next_opening() is None and hours.when_back() is None


@pytest.mark.parametrize("weekly, named", [
    ({"mon": "9-18"}, "hours.weekly.mon: '9-18' is not 'HH:MM-HH:MM'"),
    ({"tue": "18:00-09:00"}, "hours.weekly.tue: '18:00-09:00' must start before it ends"),
    ({"monday": "09:00-18:00"}, "hours.weekly: 'monday' is not one of mon"),
    ({"fri": "09:00-25:00"}, "hours.weekly.fri"),
])
def test_bad_hours_fail_with_the_day_and_the_reason(weekly, named):
    with pytest.raises(ValidationError, match=named.replace("(", r"\(").replace(".", r"\.")):
        LotseSettings(hours={"weekly": weekly})


def test_an_unknown_time_zone_is_named():
    with pytest.raises(ValidationError, match="'Europe/Berlinn' is not a known IANA time zone"):
        LotseSettings(hours={"timezone": "Europe/Berlinn"})
