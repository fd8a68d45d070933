"""Helpers for complaint-register tests: entries made through the real service, with injected times."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from accounts.models import Project, Role, User
from audit.models import AuditEntry
from satisfaction.categories import ensure_default_categories
from satisfaction.complaints import service
from satisfaction.complaints.models import Complaint
from webapp.extensions import db

SHANGHAI_OFFSET = timedelta(hours=8)


def utc(year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(year, month, day, hour=0, minute=0) -> datetime:
    """A Shanghai wall-clock time as aware UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - SHANGHAI_OFFSET


def fast_user(login: str, role: str, projects=()) -> int:
    """A user with the test password, straight into the database (no audit entry). Test apps hash with
    the cheap PASSWORD_HASH_PROFILE (~0.03 ms a hash), so each user gets its own hash."""
    from accounts.services import hash_password
    from tests.conftest import PASSWORD

    u = User(login=login, display_name=login.title(), password_hash=hash_password(PASSWORD),
             roles=[db.session.execute(select(Role).where(Role.code == role)).scalar_one()],
             projects=[project(code) for code in projects])
    db.session.add(u)
    db.session.commit()
    return u.id


def user(login: str) -> User:
    return db.session.execute(select(User).where(User.login == login)).scalar_one()


def project(code: str) -> Project:
    return db.session.execute(select(Project).where(Project.code == code)).scalar_one()


def entry_data(project_id, **kw) -> dict:
    data = {"kind": "complaint", "project_id": project_id, "channel": "phone", "received_at": kw.pop("received_at"),
            "category": "maintenance", "severity": "normal", "building": "3栋", "room": "1502",
            "description": "卫生间天花板渗水"}
    data.update(kw)
    return data


def make_entry(project_code: str, actor_login: str, received_at: datetime, **kw) -> Complaint:
    ensure_default_categories()
    now = kw.pop("now", None) or received_at + timedelta(minutes=1)
    return service.create_entry(entry_data(project(project_code).id, received_at=received_at, **kw),
                                actor=user(actor_login), now=now)


def walk(entry: Complaint, actor_login: str, steps, start: datetime) -> datetime:
    """Apply ``[(action, hours_after_previous, data), …]``; returns the time of the last step."""
    t = start
    actor = user(actor_login)
    for action, hours, data in steps:
        t = t + timedelta(hours=hours)
        service.transition(entry, action, dict(data or {}), actor=actor, now=t)
    return t


RESOLVE = {"cause": "防水层老化", "action_taken": "重做防水"}
FOLLOW_SATISFIED = {"feedback_given": "电话告知处理结果", "handling_satisfaction": "satisfied"}
FOLLOW_NEUTRAL = {"feedback_given": "电话告知处理结果", "handling_satisfaction": "neutral"}
FOLLOW_DISSATISFIED = {"feedback_given": "电话告知处理结果", "handling_satisfaction": "dissatisfied",
                       "follow_up_notes": "仍然渗水"}


def counts() -> tuple[int, int]:
    """(complaints, audit entries): both unchanged after a refused request."""
    return (db.session.execute(select(func.count()).select_from(Complaint)).scalar(),
            db.session.execute(select(func.count()).select_from(AuditEntry)).scalar())
