"""Voiding: a record entered by mistake stays on file, marked, and leaves every figure.

:class:`Voidable` gives a model its void columns (when, by whom, why) and ``voided``;
:func:`void` is how every record service voids, with one signature
``(record, rules, *, reason, actor, version=None, now=None)``. The state is checked first (a
voided record cannot be voided again, whatever the reason says), then the reason (required,
at most :attr:`VoidRules.max_reason` characters), then the version the user started from.
:class:`VoidRules` holds what differs between kinds of record: audit action, messages,
version check, how a concurrent write is reported.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from accounts.models import User
from audit import service as audit
from webapp.db import UTCDateTime, utcnow
from webapp.exceptions import InvalidTransition, ValidationError
from webapp.extensions import db
from webapp.i18n import _l

__all__ = ["Voidable", "VoidRules", "void"]


class Voidable:
    """Model mixin: ``voided_at``, ``voided_by_id``/``voided_by``, ``void_reason`` and ``voided``."""

    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    void_reason: Mapped[str] = mapped_column(Text, default="")

    @declared_attr
    def voided_by(cls) -> Mapped[User | None]:
        # A lambda: the models name users several times, so the foreign key is said explicitly.
        return relationship(User, foreign_keys=lambda: [cls.voided_by_id])

    @property
    def voided(self) -> bool:
        return self.voided_at is not None


@dataclass(frozen=True)
class VoidRules:
    """How one kind of record is voided.

    ``snapshot`` gives the audit entry's before/after; ``check_version(record, version)``
    refuses a stale version (None: the record has no lock version); ``write`` flushes,
    reporting a concurrent write in the kind's words (None: a plain flush); ``frees`` names columns set to NULL
    so a new record may take the place (a unique slot, an open-action key).
    """

    audit_as: str
    already: Any
    snapshot: Callable[[Any], dict]
    check_version: Callable[[Any, Any], None] | None = None
    write: Callable[[], None] | None = None
    frees: tuple[str, ...] = ()
    max_reason: int = 2000


def void(record, rules: VoidRules, *, reason, actor, version=None, now: datetime | None = None):
    """Void ``record`` with a reason: checked, written, flushed and audited; the caller commits."""
    if record.voided:  # the state first: no reason, good or bad, can void a record twice
        raise InvalidTransition(rules.already)
    reason = reason.strip() if isinstance(reason, str) else ""  # API bodies may send any JSON type
    if not reason:
        message = _l("Give a reason for voiding.")
        raise ValidationError(message, errors={"reason": [message]})
    if len(reason) > rules.max_reason:
        message = _l("At most %(n)d characters.", n=rules.max_reason)
        raise ValidationError(message, errors={"reason": [message]})
    if rules.check_version is not None:
        rules.check_version(record, version)
    before = rules.snapshot(record)
    now = now or utcnow()
    record.voided_at, record.voided_by_id, record.void_reason = now, getattr(actor, "id", None), reason
    if hasattr(record, "updated_at"):
        record.updated_at = now
    for name in rules.frees:
        setattr(record, name, None)
    (rules.write or db.session.flush)()
    audit.record(rules.audit_as, record, before=before, after=rules.snapshot(record), reason=reason, actor=actor)
    return record
