"""The register of complaints, praise and suggestions (投诉/表扬/建议登记) and its timeline."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Department, Project, User
from records.voiding import Voidable
from satisfaction.models import ServiceCategory
from webapp.db import UTCDateTime, utcnow
from webapp.extensions import db

KINDS = ("complaint", "praise", "suggestion")
CHANNELS = ("letter", "visit", "phone", "online", "committee")
SEVERITIES = ("normal", "urgent", "major")
STATUSES = ("received", "acknowledged", "in_progress", "resolved", "followed_up", "closed")
HANDLING_SATISFACTION = ("satisfied", "neutral", "dissatisfied")
#: Statuses in which a complaint is still being worked on (deadlines can run out).
OPEN_STATUSES = ("received", "acknowledged", "in_progress")


class Complaint(Voidable, db.Model):
    """One entry in the register: a complaint, a praise or a suggestion.

    Deadlines are fixed at receipt from the ``deadlines`` setting and the severity.
    ``version`` is SQLAlchemy's version counter: every UPDATE says ``WHERE version = <read>``,
    so two people saving the same entry can never silently overwrite each other.
    """

    __tablename__ = "complaints"
    __table_args__ = (
        # The register list (newest first, per project, keyset on received_at+id) and the monthly
        # summary (per project, month).
        Index("ix_complaints_project_received", "project_id", "received_at", "id"),
        # The list across all projects, and the all-projects monthly summary.
        Index("ix_complaints_received_at", "received_at", "id"),
        # "Open items" and status filters.
        Index("ix_complaints_status_received", "status", "received_at"),
        Index("ix_complaints_handler_status", "handler_id", "status"),
        # The register's status tabs: entries per status (not voided) of all projects, of a type, of a
        # clerk's projects, counted from the index alone.
        Index("ix_complaints_status_counts", "status", "voided_at", "kind", "project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str] = mapped_column(String(12))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    building: Mapped[str] = mapped_column(String(40), default="")
    room: Mapped[str] = mapped_column(String(40), default="")
    contact_name: Mapped[str] = mapped_column(String(60), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"))
    severity: Mapped[str] = mapped_column(String(10), default="normal")
    description: Mapped[str] = mapped_column(Text)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="received")

    respond_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolve_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cause: Mapped[str] = mapped_column(Text, default="")
    action_taken: Mapped[str] = mapped_column(Text, default="")

    # Follow-up (回访): the result fed back to the person and their satisfaction with the handling.
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    followed_up_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    feedback_given: Mapped[str] = mapped_column(Text, default="")
    handling_satisfaction: Mapped[str | None] = mapped_column(String(12), nullable=True)
    follow_up_notes: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)

    # Where the entry came from (e.g. an owners'-committee meeting issue).
    source_type: Mapped[str | None] = mapped_column(String(30), nullable=True)
    source_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A major complaint may start an incident-triggered review of a procedure (review rule 2).
    review_procedure_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    review_requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    review_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The corrective action opened for it (actions.Action id; no FK: that table comes later).
    action_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    project: Mapped[Project] = relationship()
    category: Mapped[ServiceCategory] = relationship()
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id])
    department: Mapped[Department | None] = relationship()
    followed_up_by: Mapped[User | None] = relationship(foreign_keys=[followed_up_by_id])
    review_requested_by: Mapped[User | None] = relationship(foreign_keys=[review_requested_by_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.id", lazy="select")

    @property
    def is_complaint(self) -> bool:
        return self.kind == "complaint"

    def respond_overdue(self, now: datetime) -> bool:
        """Not yet acknowledged and past the response deadline."""
        return (not self.voided and self.respond_due is not None and self.acknowledged_at is None
                and self.status in OPEN_STATUSES and now > self.respond_due)

    def resolve_overdue(self, now: datetime) -> bool:
        """Not yet resolved and past the resolution deadline."""
        return (not self.voided and self.resolve_due is not None and self.resolved_at is None
                and self.status in OPEN_STATUSES and now > self.resolve_due)

    def overdue(self, now: datetime) -> bool:
        return self.respond_overdue(now) or self.resolve_overdue(now)

    def __repr__(self) -> str:
        return f"<Complaint {self.number} {self.status}>"


class ComplaintEvent(db.Model):
    """One step in an entry's timeline: who did what, when, with what note."""

    __tablename__ = "complaint_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")

    complaint: Mapped[Complaint] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class ComplaintSequence(db.Model):
    """The last number handed out per prefix, project and year (TS-P-LJY-2026 → 17).

    Numbers are taken with ``UPDATE … SET last_value = last_value + 1 RETURNING``, which
    locks the row until commit, so two clerks saving at once still get different numbers.
    """

    __tablename__ = "complaint_sequences"
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)
