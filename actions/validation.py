"""Input cleaning shared by the record services (actions, meetings, caring services).

Each helper reads one key from a plain ``dict`` (form data or a JSON body), returns the
clean value and appends translated messages to ``errors`` ({field: [messages]}), so a
service can report every problem at once and then call :func:`raise_errors`.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from webapp.exceptions import ValidationError
from webapp.extensions import db
from webapp.i18n import _l

REQUIRED = _l("This field is required.")


def local_today() -> date:
    """Today in the company's time zone (dates people enter are local dates)."""
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def add_error(errors: dict, key: str, message) -> None:
    errors.setdefault(key, []).append(message)


def text(data: dict, key: str, errors: dict, *, required: bool = False, max_len: int | None = None) -> str:
    value = data.get(key)
    if isinstance(value, list | tuple):
        value = "\n".join(str(v) for v in value)
    value = "" if value is None else str(value).strip()
    if required and not value:
        add_error(errors, key, REQUIRED)
    if max_len and len(value) > max_len:
        add_error(errors, key, _l("At most %(n)d characters.", n=max_len))
    return value


def day(data: dict, key: str, errors: dict, *, required: bool = False, not_future: bool = False,
        not_past: bool = False) -> date | None:
    """A date (``date`` or ``YYYY-MM-DD``); optionally not after / not before today (local)."""
    value = data.get(key)
    if value in (None, ""):
        if required:
            add_error(errors, key, REQUIRED)
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value).strip())
        except ValueError:
            add_error(errors, key, _l("Enter a date as YYYY-MM-DD."))
            return None
    if not_future and value > local_today():
        add_error(errors, key, _l("The date cannot be in the future."))
    if not_past and value < local_today():
        add_error(errors, key, _l("The date cannot be in the past."))
    return value


def integer(data: dict, key: str, errors: dict, *, required: bool = False, min_value: int | None = None,
            max_value: int | None = None) -> int | None:
    value = data.get(key)
    if value in (None, ""):
        if required:
            add_error(errors, key, REQUIRED)
        return None
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        add_error(errors, key, _l("Enter a whole number."))
        return None
    try:
        value = int(str(value).strip()) if not isinstance(value, int | float) else int(value)
    except ValueError:
        add_error(errors, key, _l("Enter a whole number."))
        return None
    if (min_value is not None and value < min_value) or (max_value is not None and value > max_value):
        add_error(errors, key, _l("Enter a number between %(min)s and %(max)s.", min=min_value, max=max_value))
        return None
    return value


def reference(model, data: dict, key: str, errors: dict, message, *, required: bool = False):
    """The id of an existing ``model`` row named by ``data[key]`` (None when empty)."""
    value = data.get(key)
    if value in (None, "", 0, "0"):
        if required:
            add_error(errors, key, REQUIRED)
        return None
    try:
        obj = db.session.get(model, int(value))
    except (TypeError, ValueError):
        obj = None
    if obj is None or getattr(obj, "active", True) is False:
        add_error(errors, key, message)
        return None
    return obj.id


def raise_errors(errors: dict) -> None:
    """Raise one ValidationError carrying every field message (the first one as its summary)."""
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationError(first, errors=errors)
