"""Demo data for trying ProcDesk out. Idempotent; refused in production (see the CLI)."""
from __future__ import annotations

import importlib

from sqlalchemy import select

from webapp.extensions import db

DEMO_PASSWORD = "procdesk-demo"  # noqa: S105 — demo-only, printed in the README

#: Modules with a ``load_demo() -> list[str]`` function, run in this order.
DEMO_MODULES = (
    "accounts.demo",
    "procedures.demo",
    "satisfaction.demo",
    "satisfaction.surveys.demo",
    "satisfaction.complaints.demo",
    "satisfaction.meetings.demo",
)


def database_is_empty() -> bool:
    from accounts.models import User

    return db.session.execute(select(User.id).limit(1)).first() is None


def load() -> list[str]:
    """Run every demo loader; returns what each one did, for the CLI to print."""
    lines: list[str] = []
    for name in DEMO_MODULES:
        lines += importlib.import_module(name).load_demo()
    db.session.commit()
    from audit import service as audit

    if audit.anchor_quietly() is not None:  # seal what the demo wrote, as a nightly cron would
        lines.append("audit log anchored in the git store")
    return lines
