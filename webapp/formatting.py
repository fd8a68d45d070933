"""Jinja filters for dates, numbers and rates as Chinese (and English) readers expect."""
from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.numbers import parse_pattern
from flask import Flask, current_app
from flask_babel import get_locale

# Dates are formatted by hand, not by Babel: a Babel call takes 20–40 µs and a long list or
# the history of a 500-version procedure formats a thousand dates. Only Chinese and English
# are offered, so the two patterns are all there is.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _is_zh() -> bool:
    return str(get_locale() or "zh_Hans").startswith("zh")


def _local(value: datetime) -> datetime:
    """A stored (UTC) time in the configured zone; a naive one is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def fmt_datetime(value: datetime | None) -> str:
    """UTC → the configured zone; ``2026-11-27 13:45`` in Chinese, ``27 Nov 2026, 13:45`` in English."""
    if value is None:
        return ""
    local = _local(value)
    if _is_zh():
        return f"{local:%Y-%m-%d %H:%M}"
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"


def fmt_date(value: date | datetime | None) -> str:
    """``2026-11-27`` in Chinese, ``27 Nov 2026`` in English; a time is first put in the configured zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value).date()
    return value.isoformat() if _is_zh() else f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


@lru_cache(maxsize=64)
def _pattern(pattern: str):
    # Babel parses a number pattern on every call; list pages format thousands of numbers.
    return parse_pattern(pattern)


@lru_cache(maxsize=8)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


def _apply(value, pattern: str) -> str:
    return _pattern(pattern).apply(value, _locale(str(get_locale() or "zh_Hans")))


def fmt_number(value, digits: int = 0) -> str:
    if value is None:
        return "—"
    return _apply(value, "#,##0" + ("." + "0" * digits if digits else ""))


def fmt_percent(value, digits: int = 1) -> str:
    """A ratio (0.853) as ``85.3%``; ``—`` when there is nothing to divide."""
    if value is None:
        return "—"
    return _apply(value, "#,##0." + "0" * digits + "%" if digits else "#,##0%")


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.context_processor(lambda: {"current_locale": str(get_locale() or app.config["DEFAULT_LOCALE"])})
    app.jinja_env.filters.update(
        datetime=fmt_datetime, date=fmt_date, number=fmt_number, percent=fmt_percent)
