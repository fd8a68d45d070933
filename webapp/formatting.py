"""Jinja filters for dates, numbers and rates as Chinese (and English) readers expect."""
from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal, format_percent, get_locale


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


def fmt_number(value, digits: int = 0) -> str:
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""))


def fmt_percent(value, digits: int = 1) -> str:
    """A ratio (0.853) as ``85.3%``; ``—`` when there is nothing to divide."""
    if value is None:
        return "—"
    return format_percent(value, format="#,##0." + "0" * digits + "%") if digits else format_percent(value)


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.context_processor(lambda: {"current_locale": str(get_locale() or app.config["DEFAULT_LOCALE"])})
    app.jinja_env.filters.update(
        datetime=fmt_datetime, date=fmt_date, number=fmt_number, percent=fmt_percent)
