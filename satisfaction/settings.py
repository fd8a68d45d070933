"""Configurable rules of the satisfaction records, with the procedure's figures as defaults."""
from __future__ import annotations

from sqlalchemy import select

from audit import service as audit
from satisfaction.models import Setting
from satisfaction.surveys.scale import DEFAULT_LEVELS, Scale, clean_scale
from webapp.db import utcnow
from webapp.exceptions import ValidationError
from webapp.extensions import db
from webapp.i18n import _l

#: key -> default. Rates are ratios (0.9 = 90 %).
DEFAULTS = {
    # The owner survey's rating scale, best first, and which levels count as satisfied
    # (satisfaction.surveys.scale); each campaign keeps a copy of the one it was created with.
    "rating_scale": DEFAULT_LEVELS,
    "distribution_target": 0.90,
    "return_target": 0.85,
    "satisfaction_target": 0.85,
    # Complaint deadlines by severity, in hours: respond / resolve.
    "deadlines": {
        "urgent": {"respond_hours": 2, "resolve_hours": 24},
        "normal": {"respond_hours": 48, "resolve_hours": 7 * 24},
        "major": {"respond_hours": 2, "resolve_hours": 24},
    },
}


def get_setting(key: str):
    """The stored value, or the default when never set."""
    if key not in DEFAULTS:
        raise KeyError(key)
    value = db.session.execute(select(Setting.value).where(Setting.key == key)).scalar()
    return DEFAULTS[key] if value is None else value


def rating_scale() -> Scale:
    """The rating scale new survey campaigns are created with."""
    return Scale.from_json(get_setting("rating_scale"))


def all_settings() -> dict:
    stored = dict(db.session.execute(select(Setting.key, Setting.value)).all())
    return {k: stored.get(k, v) if stored.get(k) is not None else v for k, v in DEFAULTS.items()}


def _validate(key: str, value):
    """Check ``value``; returns it as stored (the scale in its clean form)."""
    if key == "rating_scale":
        return clean_scale(value).as_json()
    if key.endswith("_target"):
        if not isinstance(value, int | float) or not 0 < value <= 1:
            raise ValidationError(_l("A target must be a percentage above 0 and at most 100."),
                                  errors={key: [_l("A target must be a percentage above 0 and at most 100.")]})
    elif key == "deadlines":
        ok = isinstance(value, dict) and all(
            isinstance(value.get(sev), dict)
            and all(isinstance(value[sev].get(f), int) and 0 < value[sev][f] <= 24 * 90
                    for f in ("respond_hours", "resolve_hours"))
            and value[sev]["respond_hours"] <= value[sev]["resolve_hours"]
            for sev in ("urgent", "normal", "major"))
        if not ok:
            raise ValidationError(_l("Deadlines must be whole hours (1 to 2160), responding no later than resolving."),
                                  errors={key: [_l("Deadlines must be whole hours (1 to 2160), responding no later than resolving.")]})
    return value


def update_settings(values: dict, *, actor=None, reason: str = "") -> list[str]:
    """Validate every value first, then store the changed ones in one audited transaction.

    Returns the keys that changed. Nothing is stored when any value is invalid.
    """
    unknown = set(values) - set(DEFAULTS)
    if unknown:
        raise ValidationError(_l("Unknown setting."))
    values = {key: _validate(key, value) for key, value in values.items()}
    current = all_settings()
    changed = [k for k, v in values.items() if v != current[k]]
    for key in changed:
        row = db.session.get(Setting, key)
        if row is None:
            row = Setting(key=key)
            db.session.add(row)
        row.value = values[key]
        row.updated_at = utcnow()
        row.updated_by_id = getattr(actor, "id", None)
        audit.record("setting.changed", row, object_type="settings", object_id=key,
                     before={"value": current[key]}, after={"value": values[key]}, reason=reason, actor=actor)
    db.session.commit()
    return changed
