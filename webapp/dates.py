"""Dates as the company sees them: today in its time zone, and the range a date may take.

Every date a person or a document gives (effective dates, due dates, service dates,
meeting dates) must lie in a sane window, checked where it enters: not before
``DATE_EARLIEST`` (default 2000-01-01) and not after the end of the year
``DATE_YEARS_AHEAD`` years from now (default 5). Both are settings. Date arithmetic
goes through :func:`add_months`, which cannot overflow.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from webapp.i18n import _l

DEFAULT_EARLIEST = date(2000, 1, 1)
DEFAULT_YEARS_AHEAD = 5

__all__ = ["zone", "local_today", "date_bounds", "out_of_range_message", "in_range", "add_months",
           "DEFAULT_EARLIEST", "DEFAULT_YEARS_AHEAD"]


def zone() -> ZoneInfo:
    """The company's time zone (``TIMEZONE``, Asia/Shanghai by default)."""
    return ZoneInfo(current_app.config["TIMEZONE"] if has_app_context() else "Asia/Shanghai")


def local_today() -> date:
    """Today where the company is."""
    return datetime.now(zone()).date()


def _earliest(config) -> date:
    value = config.get("DATE_EARLIEST", DEFAULT_EARLIEST)
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return value


def date_bounds(today: date | None = None) -> tuple[date, date]:
    """``(earliest, latest)`` accepted for any date entered into ProcDesk."""
    config = current_app.config if has_app_context() else {}
    today = today or local_today()
    ahead = int(config.get("DATE_YEARS_AHEAD", DEFAULT_YEARS_AHEAD))
    return _earliest(config), date(min(today.year + ahead, date.max.year), 12, 31)


def out_of_range_message(bounds: tuple[date, date]):
    """The translated field message for a date outside ``bounds``."""
    return _l("Enter a date between %(earliest)s and %(latest)s.",
              earliest=bounds[0].isoformat(), latest=bounds[1].isoformat())


def in_range(value: date, bounds: tuple[date, date] | None = None) -> bool:
    """True when ``value`` lies within ``bounds`` (default: :func:`date_bounds`)."""
    lo, hi = bounds or date_bounds()
    return lo <= value <= hi


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, the day clamped to the month's end
    (2026-08-31 + 6 → 2027-02-28); saturates at ``date.max`` / ``date.min`` instead of overflowing."""
    index = start.year * 12 + (start.month - 1) + int(months)
    year, month = divmod(index, 12)
    if year > date.max.year:
        return date.max
    if year < date.min.year:
        return date.min
    month += 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
