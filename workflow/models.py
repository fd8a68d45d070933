"""Procedure reviews (评审): the review, the procedures it covers, its people, what they said and signed.

Git holds the drafts (branch ``reviews/<number>``) and, once a review is closed, its change record
(``reviews/<year>/<number>.md`` on ``main``). These tables hold the rest of the cycle — who takes part,
comments, sign-offs, decisions — and what lists and dashboards query.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User
from webapp.db import UTCDateTime, utcnow
from webapp.extensions import db

#: The states, in the order of the cycle (see :mod:`workflow.states`).
STATES = ("propose", "discuss", "decide", "implement", "closed", "cancelled")
OPEN_STATES = ("propose", "discuss", "decide", "implement")
KINDS = ("periodic", "incident")
DECISIONS = ("revise", "no_change", "withdraw")
MEANINGS = ("reviewed", "approved", "rejected")
TRIGGER_TYPES = ("schedule", "complaint", "action", "meeting_issue", "person")


class Review(db.Model):
    """One review of one or more procedures, released together.

    ``schedule_key`` is set on periodic reviews the scheduler opens (``"<department>:<due window>"`` or
    ``"<code>:<due date>"``): its unique constraint makes ``flask reviews schedule`` idempotent even when
    two hosts run it at the same moment.
    """

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(12), index=True)
    state: Mapped[str] = mapped_column(String(12), default="propose", index=True)
    title: Mapped[str] = mapped_column(String(200))
    chair_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    department: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    schedule_key: Mapped[str | None] = mapped_column(String(80), nullable=True, unique=True)
    #: The draft branch and the revision of ``main`` it was started from (set on the first draft save).
    branch: Mapped[str | None] = mapped_column(String(60), nullable=True)
    base_commit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: When the review should be finished (periodic: the procedures' next review date).
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    #: When the current step should be finished (reminders and escalation count from it).
    step_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    effective_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: The commit on ``main`` that released the review (new versions and the change record).
    result_commit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    record_path: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decision_summary: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    #: Optimistic lock: a stale form cannot move the review.
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    chair: Mapped[User] = relationship(foreign_keys=[chair_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    items: Mapped[list[ReviewItem]] = relationship(back_populates="review", order_by="ReviewItem.code",
                                                   cascade="all, delete-orphan")
    participants: Mapped[list[ReviewParticipant]] = relationship(back_populates="review", order_by="ReviewParticipant.id",
                                                                 cascade="all, delete-orphan")
    triggers: Mapped[list[ReviewTrigger]] = relationship(back_populates="review", order_by="ReviewTrigger.id",
                                                   cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def codes(self) -> list[str]:
        return [item.code for item in self.items]

    def __repr__(self) -> str:
        return f"<Review {self.number} {self.state}>"


class ReviewItem(db.Model):
    """A procedure covered by a review, and what was decided for it.

    ``open_code`` is the procedure code while the review is open and NULL afterwards: its unique
    constraint keeps one open review per procedure, whoever opens it (a scheduler on two hosts, a
    complaint and the schedule at once).
    """

    __tablename__ = "review_items"
    __table_args__ = (UniqueConstraint("review_id", "code", name="uq_review_items_review_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    open_code: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    version_before: Mapped[str | None] = mapped_column(String(10), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(12), nullable=True)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    version_after: Mapped[str | None] = mapped_column(String(10), nullable=True)

    review: Mapped[Review] = relationship(back_populates="items")


class ReviewTrigger(db.Model):
    """Why a review was opened: the schedule, a record (complaint, action, meeting issue) or a person."""

    __tablename__ = "review_triggers"
    __table_args__ = (Index("ix_review_triggers_source", "source_type", "source_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    source_type: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    review: Mapped[Review] = relationship(back_populates="triggers")
    created_by: Mapped[User | None] = relationship()


class ReviewParticipant(db.Model):
    """A person taking part in a review, in one of the procedure's four categories."""

    __tablename__ = "review_participants"
    __table_args__ = (UniqueConstraint("review_id", "user_id", name="uq_review_participants_review_user"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    review: Mapped[Review] = relationship(back_populates="participants")
    # Loaded with the participants: pages, notices and the record all name them.
    user: Mapped[User] = relationship(lazy="selectin")


class ReviewProposal(db.Model):
    """A written change proposal (without editing the draft)."""

    __tablename__ = "review_proposals"
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship()


class ReviewComment(db.Model):
    """A comment on a review; a reply has ``parent_id``. An anchored comment names a clause of one
    procedure in one draft commit (``code``, ``commit``, ``clause``, ``quote``, ``context``)."""

    __tablename__ = "review_comments"
    __table_args__ = (Index("ix_review_comments_review_created", "review_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("review_comments.id"), nullable=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    commit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    clause: Mapped[str | None] = mapped_column(String(40), nullable=True)
    quote: Mapped[str | None] = mapped_column(Text, nullable=True)
    context: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])

    @property
    def is_anchored(self) -> bool:
        return self.code is not None


class ReviewSignOff(db.Model):
    """An electronic signature on a review's draft (21 CFR 11.50/11.70): who (printed name and category
    at the time), what it means, when, and the exact draft commit it binds to. A later draft commit voids
    it (``voided_at``, ``voided_reason``); nothing is deleted."""

    __tablename__ = "review_signoffs"
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    printed_name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(20))
    meaning: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text, default="")
    commit: Mapped[str] = mapped_column(String(40))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    voided_reason: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship()

    @property
    def is_valid(self) -> bool:
        return self.voided_at is None


class ReviewMeeting(db.Model):
    """A review meeting the chair recorded: date, attendees by category, minutes."""

    __tablename__ = "review_meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    #: ``[{"user_id": 3, "name": "张三", "category": "frontline"}, …]`` as it was at the meeting.
    attendees: Mapped[list] = mapped_column(JSON, default=list)
    minutes: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewEvent(db.Model):
    """The review's own timeline (every step, also in the audit log)."""

    __tablename__ = "review_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(12), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(12), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()


class ApprovalRule(db.Model):
    """What adoption needs, kept as data: at least ``requirements[category]`` approvals per participant
    category, and (``no_rejection``) no outstanding rejection. ``department`` NULL is the default rule."""

    __tablename__ = "review_approval_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    department: Mapped[str | None] = mapped_column(String(20), nullable=True, unique=True)
    requirements: Mapped[dict] = mapped_column(JSON, default=dict)
    no_rejection: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ReviewSequence(db.Model):
    """The last review number handed out per year (R-2026-014 → 14); see :mod:`records.numbering`."""

    __tablename__ = "review_sequences"
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)
