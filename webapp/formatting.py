"""Jinja filters for dates, numbers and rates as Chinese (and English) readers expect."""
from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from babel import Locale
from babel.numbers import parse_pattern
from flask import Flask
from flask_babel import format_date, format_datetime, get_locale


def _is_zh() -> bool:
    return str(get_locale() or "zh_Hans").startswith("zh")


def fmt_datetime(value: datetime | None) -> str:
    """UTC → the configured zone; ``2026-11-27 13:45`` in Chinese, ``27 Nov 2026, 13:45`` in English."""
    if value is None:
        return ""
    return format_datetime(value, "yyyy-MM-dd HH:mm" if _is_zh() else "d MMM yyyy, HH:mm")


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, "yyyy-MM-dd" if _is_zh() else "d MMM yyyy")
    return format_date(value, "yyyy-MM-dd" if _is_zh() else "d MMM yyyy")


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
