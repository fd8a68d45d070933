"""Write and verify the audit log.

Every service that changes a record calls :func:`record` in the same transaction as
the change, so the change and its audit entry commit (or roll back) together.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select, text

from audit.models import GENESIS_HASH, AuditEntry
from webapp.db import utcnow
from webapp.extensions import db

# Any constant works; it names the PostgreSQL advisory lock that serialises appends.
_PG_LOCK_KEY = 0x50524F43  # "PROC"


def to_jsonable(value):
    """Turn dates, decimals and sets into JSON values so before/after snapshots store cleanly."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def entry_hash(prev_hash: str, at: datetime, actor_id, action, object_type, object_id, before, after, reason) -> str:
    """The SHA-256 that chains an entry to the one before it."""
    payload = json.dumps(
        [
            prev_hash,
            at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds"),
            actor_id,
            action,
            object_type,
            str(object_id),
            before,
            after,
            reason or "",
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(action: str, obj, *, before=None, after=None, reason: str = "", actor=None,
           object_type: str | None = None, object_id=None) -> AuditEntry:
    """Append an audit entry for ``action`` on ``obj`` (a model or None with explicit type/id).

    ``actor`` defaults to the logged-in user. The entry is added to the current session;
    the caller commits it together with the change it describes.
    """
    if actor is None:
        actor = _current_actor()
    session = db.session
    session.flush()  # so the caller's new rows have ids before we name them
    object_type = object_type or (obj.__tablename__ if obj is not None else "system")
    if object_id is None:
        object_id = getattr(obj, "id", "") if obj is not None else ""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    prev = session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    prev = prev or GENESIS_HASH
    at = utcnow()
    before_j, after_j = to_jsonable(before), to_jsonable(after)
    actor_id = getattr(actor, "id", None)
    entry = AuditEntry(
        at=at,
        actor_id=actor_id,
        actor_login=getattr(actor, "login", "") or "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=before_j,
        after=after_j,
        reason=reason or "",
        prev_hash=prev,
        hash=entry_hash(prev, at, actor_id, action, object_type, object_id, before_j, after_j, reason),
    )
    session.add(entry)
    session.flush()
    return entry


def _current_actor():
    from flask import has_request_context
    from flask_login import current_user

    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_id: int | None = None
    problem: str = ""


def verify(batch: int = 2000) -> VerifyResult:
    """Walk the chain in order; report the first entry whose link or content hash is wrong."""
    prev = GENESIS_HASH
    checked = 0
    last_id = 0
    cols = (AuditEntry.id, AuditEntry.prev_hash, AuditEntry.hash, AuditEntry.at, AuditEntry.actor_id,
            AuditEntry.action, AuditEntry.object_type, AuditEntry.object_id, AuditEntry.before,
            AuditEntry.after, AuditEntry.reason)
    while True:
        rows = db.session.execute(
            select(*cols).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return VerifyResult(True, checked)
        for e in rows:
            if e.prev_hash != prev:
                return VerifyResult(False, checked, e.id, "link")
            expected = entry_hash(e.prev_hash, e.at, e.actor_id, e.action, e.object_type, e.object_id,
                                  e.before, e.after, e.reason)
            if expected != e.hash:
                return VerifyResult(False, checked, e.id, "content")
            prev = e.hash
            checked += 1
            last_id = e.id


def snapshot(obj, fields) -> dict:
    """A dict of ``fields`` read from ``obj``, for before/after values."""
    return {f: to_jsonable(getattr(obj, f)) for f in fields}
