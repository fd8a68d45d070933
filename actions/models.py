"""The corrective/preventive action record."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Department, Project, User
from records.voiding import Voidable
from webapp.db import UTCDateTime, utcnow
from webapp.extensions import db


class Action(Voidable, db.Model):
    """A corrective (纠正措施) or preventive (预防措施) action and its life cycle.

    ``status`` moves open → cause_analysed → action_taken → verified → closed (see
    ``actions.service.TRANSITIONS``); an ineffective verification sends it back to
    cause_analysed. ``open_key`` is ``"<source_type>:<source_id>"`` while the action is
    neither closed nor voided, and NULL otherwise: its unique constraint makes "one open
    action per source" hold even when two workers race. Who may do each step is in
    :mod:`actions.roles`; ``action_taken_by`` is who recorded the action taken, so that
    someone else verifies it (segregation of duties).
    """

    __tablename__ = "corrective_actions"
    # Links back from a survey, complaint or meeting issue to its actions.
    __table_args__ = (Index("ix_corrective_actions_source", "source_type", "source_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # corrective | preventive
    source_type: Mapped[str] = mapped_column(String(30), default="manual")
    source_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Where inside the source: a service category's code, or the dashboard view the action came from.
    source_ref: Mapped[str | None] = mapped_column(String(300), nullable=True)
    open_key: Mapped[str | None] = mapped_column(String(60), nullable=True, unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    cause_analysis: Mapped[str] = mapped_column(Text, default="")
    planned_action: Mapped[str] = mapped_column(Text, default="")
    action_taken: Mapped[str] = mapped_column(Text, default="")
    analysed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action_taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    responsible_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    responsible_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    # The effectiveness check: what was measured again (remeasured) and what it showed (verification_result).
    remeasured: Mapped[str] = mapped_column(Text, default="")
    verification_result: Mapped[str] = mapped_column(Text, default="")
    effective: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # Procedure 4.4.3: what the complainant was told when an action from a complaint closed.
    complainant_feedback: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Optimistic lock: SQLAlchemy's version counter (UPDATE … WHERE version = <read>); forms
    # also send the version they were built from so a stale page cannot overwrite a newer row.
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    project: Mapped[Project] = relationship()
    responsible_department: Mapped[Department | None] = relationship()
    responsible_user: Mapped[User | None] = relationship(foreign_keys=[responsible_user_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    analysed_by: Mapped[User | None] = relationship(foreign_keys=[analysed_by_id])
    action_taken_by: Mapped[User | None] = relationship(foreign_keys=[action_taken_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def number(self) -> str:
        """A stable reference: CA-00012 (corrective) / PA-00013 (preventive)."""
        return f"{'CA' if self.kind == 'corrective' else 'PA'}-{self.id:05d}"

    @property
    def is_open(self) -> bool:
        return self.voided_at is None and self.status != "closed"


class ActionProposal(db.Model):
    """A proposed preventive (or corrective) action, waiting for a manager to accept or dismiss it.

    Raised by the system when a survey closes (see :mod:`actions.proposals`): a rate "met, not yet
    certain", a rate falling two years in a row, a service category below target. ``key`` names the
    source and the reason; its unique constraint makes "one proposal per source" hold even when two
    workers race. Nothing is deleted: a dismissed proposal keeps its reason.
    """

    __tablename__ = "action_proposals"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    reason: Mapped[str] = mapped_column(String(20))  # met_uncertain | falling | category_below
    kind: Mapped[str] = mapped_column(String(12))  # preventive | corrective
    source_type: Mapped[str] = mapped_column(String(30))
    source_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source_ref: Mapped[str | None] = mapped_column(String(300), nullable=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    figures: Mapped[dict] = mapped_column(JSON, default=dict)  # the rate(s) that raised it
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending | accepted | dismissed
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("corrective_actions.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    project: Mapped[Project] = relationship()
    decided_by: Mapped[User | None] = relationship()
    action: Mapped[Action | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def number(self) -> str:
        return f"PP-{self.id:05d}"
