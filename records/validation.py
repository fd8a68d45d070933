"""Input cleaning shared by the record services (actions, meetings, caring services).

Each helper reads one key from a plain ``dict`` (form data or a JSON body), returns the
clean value and appends translated messages to ``errors`` ({field: [messages]}), so a
service can report every problem at once and then call :func:`raise_errors`.

Every date that enters ProcDesk passes :func:`check_day` (``webapp.dates.date_bounds``:
``DATE_EARLIEST`` to the end of the year ``DATE_YEARS_AHEAD`` ahead): :func:`day` uses it,
and the complaint and survey parsers call it too, so forms, the API and imports share one
range and nothing stored can overflow later date arithmetic.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from accounts.models import User
from webapp.dates import date_bounds, local_today, out_of_range_message
from webapp.exceptions import ValidationError
from webapp.extensions import db
from webapp.i18n import REQUIRED, _l

__all__ = ["add_error", "check_day", "day", "integer", "raise_errors", "reference",
           "text", "user_ids"]


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


def check_day(value: date, key: str, errors: dict, bounds: tuple[date, date] | None = None) -> bool:
    """True when ``value`` lies in the accepted date range; otherwise adds the message to ``errors``."""
    bounds = bounds or date_bounds()
    if bounds[0] <= value <= bounds[1]:
        return True
    add_error(errors, key, out_of_range_message(bounds))
    return False


def day(data: dict, key: str, errors: dict, *, required: bool = False, not_future: bool = False,
        not_past: bool = False, future_message=None) -> date | None:
    """A date (``date`` or ``YYYY-MM-DD``) within :func:`check_day`'s range, else None with a
    message; optionally not after / not before today (local), those messages coming first."""
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
    today = local_today()
    if not_future and value > today:
        add_error(errors, key, future_message or _l("The date cannot be in the future."))
    elif not_past and value < today:
        add_error(errors, key, _l("The date cannot be in the past."))
    elif not check_day(value, key, errors):
        return None
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


def user_ids(logins, key: str = "staff") -> list[int]:
    """The ids of the users named by login (the API names people so), in the order given; a
    login that is unknown, or not a list, is a ValidationError at ``key``."""
    message = _l("Unknown staff member.")
    if not isinstance(logins, list):
        raise ValidationError(message, errors={key: [message]})
    names = list(dict.fromkeys(str(s) for s in logins))
    found = dict(db.session.execute(select(User.login, User.id).where(User.login.in_(names))).all())
    if len(found) != len(names):
        raise ValidationError(message, errors={key: [message]})
    return [found[n] for n in names]


def raise_errors(errors: dict) -> None:
    """Raise one ValidationError carrying every field message (the first one as its summary)."""
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationError(first, errors=errors)
