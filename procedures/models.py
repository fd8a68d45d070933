"""The database mirror of the procedures in git (see :mod:`procedures.catalog`).

Nothing here is a record of its own: every row can be rebuilt from the store with
``flask procedures sync --rebuild``. The tables exist so that lists, filters and
"current version" look-ups are one indexed query instead of a walk through git.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import UTCDateTime, utcnow
from webapp.extensions import db


class Procedure(db.Model):
    """One procedure, described by its newest committed version (which may not be in force yet)."""

    __tablename__ = "procedures"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    departments: Mapped[list] = mapped_column(JSON, default=list)
    version: Mapped[str] = mapped_column(String(10))
    effective: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    review_months: Mapped[int] = mapped_column(Integer)
    #: review_months after the latest of the last review, the first and the newest effective date.
    next_review: Mapped[date] = mapped_column(Date)
    #: When its last review closed (:func:`procedures.catalog.mark_reviewed`); kept by every sync,
    #: the one value here that git does not hold.
    last_reviewed: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: The effective date of its first version (in commit order).
    first_effective: Mapped[date | None] = mapped_column(Date, nullable=True)
    commit: Mapped[str] = mapped_column(String(40))
    blob: Mapped[str] = mapped_column(String(40))
    versions_count: Mapped[int] = mapped_column(Integer, default=0)
    # The file was deleted from the store (e.g. with plain git); its history stays readable.
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ProcedureVersion(db.Model):
    """One commit on ``main`` that changed a procedure file (a published version)."""

    __tablename__ = "procedure_versions"
    __table_args__ = (
        UniqueConstraint("code", "commit", name="uq_procedure_versions_code_commit"),
        UniqueConstraint("code", "seq", name="uq_procedure_versions_code_seq"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    #: Position of the commit on the first-parent chain of ``main`` (1 = root): commit order.
    seq: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(10))
    commit: Mapped[str] = mapped_column(String(40))
    blob: Mapped[str] = mapped_column(String(40))
    effective: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    departments: Mapped[list] = mapped_column(JSON, default=list)
    review_months: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    author_name: Mapped[str] = mapped_column(String(200))
    author_email: Mapped[str] = mapped_column(String(200))
    committed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(300), nullable=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    review_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The ``Signature:`` trailers of the review that released this version.
    signatures: Mapped[list] = mapped_column(JSON, default=list)

    procedure: Mapped[Procedure] = relationship()


class StoreState(db.Model):
    """What the mirror has seen of the store: ``main.head`` (sha) and ``main.length`` (commits)."""

    __tablename__ = "store_state"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StoreProblem(db.Model):
    """A procedure file on ``main`` the catalogue could not take, listed for document controllers.

    ``kind`` is ``invalid`` (the file breaks the format: recorded by the sync, which skips
    that version so the one before stays in force) or ``unreadable`` (a mirrored version
    whose text cannot be rendered: recorded when a page first fails to show it). A problem
    is resolved when a later valid version of the same file lands on ``main``.
    """

    __tablename__ = "store_problems"
    __table_args__ = (UniqueConstraint("path", "commit", name="uq_store_problems_path_commit"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(60))
    code: Mapped[str] = mapped_column(String(40), index=True)
    commit: Mapped[str] = mapped_column(String(40))
    blob: Mapped[str | None] = mapped_column(String(40), nullable=True)
    kind: Mapped[str] = mapped_column(String(20), default="invalid")
    #: ``{field: [message]}`` in the default language, as found.
    errors: Mapped[dict] = mapped_column(JSON, default=dict)
    author_name: Mapped[str] = mapped_column(String(200), default="")
    author_email: Mapped[str] = mapped_column(String(200), default="")
    committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The commit whose valid version of the file resolved the problem.
    resolved_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
