"""Business hours: whether people answer tickets now, and when they answer next.

    >>> hours = BusinessHours.of(settings.hours)
    >>> hours.is_open(now)
    False
    >>> hours.when_back(now, "de")
    'am Montag, 30.11., ab 09:00 Uhr'

Times are read in the shop's time zone (``hours.timezone``, Europe/Berlin by
default), so daylight saving time and a server running in UTC change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from kb.settings import WEEKDAYS, HoursSettings, parse_spans

_DAY_NAMES = {
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_WHEN = {
    "de": {"today": "heute ab {clock} Uhr", "tomorrow": "morgen ab {clock} Uhr",
           "later": "am {day}, {date}, ab {clock} Uhr"},
    "en": {"today": "today from {clock}", "tomorrow": "tomorrow from {clock}",
           "later": "on {day}, {date}, from {clock}"},
}
_LOOK_AHEAD_DAYS = 60  # a longer closure is a configuration mistake, not a wait


@dataclass(frozen=True)
class BusinessHours:
    """Opening spans per weekday (minutes since midnight) and closed dates, in one zone."""

    zone: ZoneInfo
    weekly: tuple[tuple[tuple[int, int], ...], ...]  # Monday first
    holidays: frozenset[date]

    @classmethod
    def of(cls, settings: HoursSettings) -> BusinessHours:
        weekly = tuple(tuple(parse_spans(day, settings.weekly.get(day, "")))
                       for day in WEEKDAYS)
        return cls(ZoneInfo(settings.timezone), weekly, frozenset(settings.holidays))

    def _spans(self, day: date) -> tuple[tuple[int, int], ...]:
        return () if day in self.holidays else self.weekly[day.weekday()]

    def is_open(self, at: datetime | None = None) -> bool:
        """Whether a person answers at ``at`` (default: now)."""
        local = self._local(at)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self._spans(local.date()))

    def next_opening(self, at: datetime | None = None) -> datetime | None:
        """The next time the team starts answering after ``at``; None when no day within
        the next two months has hours."""
        local = self._local(at)
        minute = local.hour * 60 + local.minute
        for offset in range(_LOOK_AHEAD_DAYS):
            day = local.date() + timedelta(days=offset)
            for start, _ in self._spans(day):
                if offset or start > minute:
                    return datetime(day.year, day.month, day.day, start // 60, start % 60,
                                    tzinfo=self.zone)
        return None

    def when_back(self, at: datetime | None = None, language: str = "de") -> str | None:
        """The next opening in words: "morgen ab 09:00 Uhr", "on Monday, 30.11., from 09:00"."""
        local = self._local(at)  # one reading of the clock for both
        opening = self.next_opening(local)
        if opening is None:
            return None
        texts = _WHEN.get(language, _WHEN["de"])
        days = (opening.date() - local.date()).days
        clock = opening.strftime("%H:%M")
        if days == 0:
            return texts["today"].format(clock=clock)
        if days == 1:
            return texts["tomorrow"].format(clock=clock)
        names = _DAY_NAMES.get(language, _DAY_NAMES["de"])
        return texts["later"].format(day=names[opening.weekday()],
                                     date=opening.strftime("%d.%m."), clock=clock)

    def _local(self, at: datetime | None) -> datetime:
        return (at or datetime.now(self.zone)).astimezone(self.zone)
