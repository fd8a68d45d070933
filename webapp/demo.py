"""Demo data for trying ProcDesk out. Idempotent; refused in production (see the CLI)."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from webapp import features, signals
from webapp.extensions import db

DEMO_PASSWORD = "procdesk-demo"  # noqa: S105 — demo-only, printed in the README


def database_is_empty() -> bool:
    """True while no user account exists (the accounts feature's ``users`` table is empty)."""
    users = db.metadata.tables["users"]
    return db.session.execute(select(func.count()).select_from(users)).scalar() == 0


def load() -> list[str]:
    """Run every enabled feature's demo loaders in feature order; returns what each did, for the CLI."""
    lines: list[str] = []
    for load_demo in features.demo_loaders():
        lines += load_demo()
    db.session.commit()
    app = current_app._get_current_object()
    for _receiver, line in signals.demo_loaded.send(app):
        if line:
            lines.append(line)
    return lines
