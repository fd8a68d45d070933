"""The workflow's settings (app config, ``instance/config.py`` or environment; README: configuration)."""
from __future__ import annotations

from flask import current_app

#: name → (default, type). Environment variables of the same name are read at start-up (webapp.config).
DEFAULTS = {
    # Lead time: the scheduler opens a periodic review this many days before it falls due.
    "REVIEW_LEAD_DAYS": (30, int),
    # "department": procedures of one department falling due in the same month share one review;
    # "procedure": one review per procedure.
    "REVIEW_GROUPING": ("department", str),
    # Days each step may take before `flask reviews remind` reminds the people who must act.
    "REVIEW_STEP_DAYS": (14, int),
    # Days overdue after which reminders also go to the department head.
    "REVIEW_ESCALATE_DAYS": (7, int),
    # Login of the chair of reviews opened by the schedule or a record (default: the first document controller).
    "REVIEW_DEFAULT_CHAIR": ("", str),
}


def setting(name: str):
    """The value of workflow setting ``name`` (config value, else the default), of the declared type."""
    default, kind = DEFAULTS[name]
    value = current_app.config.get(name, default)
    try:
        return kind(value)
    except (TypeError, ValueError):
        return default
