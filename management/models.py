"""The record of a year's management review: the meeting, its decisions, and their approval."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User
from actions.models import Action
from webapp.db import UTCDateTime, utcnow
from webapp.extensions import db

STATES = ("draft", "approved")
#: What a decision is about (ISO 9001 §9.3.3 a–c, and decisions of any other kind).
ITEM_KINDS = ("improvement", "change", "resource", "decision")
#: The state of a previous review's decision, as this year's meeting finds it.
FOLLOW_UP_STATES = ("open", "in_progress", "done", "dropped")


class ManagementReview(db.Model):
    """One year's management review. Kept for good (there is no delete), every change audited; editable
    while ``draft``, read-only once ``approved`` by management (name and time kept).

    ``follow_up`` holds what the meeting found of the previous year's decisions:
    ``{"<item id>": {"state": "done", "note": "…"}}``.
    """

    __tablename__ = "management_reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    state: Mapped[str] = mapped_column(String(12), default="draft")
    held_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: The people present, one per line (name and function as they were at the meeting).
    attendees: Mapped[str] = mapped_column(Text, default="")
    #: Conclusions on the suitability, adequacy and effectiveness of the quality management system.
    conclusions: Mapped[str] = mapped_column(Text, default="")
    follow_up: Mapped[dict] = mapped_column(JSON, default=dict)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: The approver's name as it was when approving (a later rename does not change the record).
    approved_name: Mapped[str] = mapped_column(String(120), default="")
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: Optimistic lock: a form saved from a stale page is refused.
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    items: Mapped[list[ManagementReviewItem]] = relationship(
        back_populates="review", order_by="ManagementReviewItem.position", cascade="all, delete-orphan")
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def approved(self) -> bool:
        return self.state == "approved"

    @property
    def attendee_list(self) -> list[str]:
        return [line.strip() for line in (self.attendees or "").splitlines() if line.strip()]


class ManagementReviewItem(db.Model):
    """One decision or output of the meeting: an improvement, a change to the system, a resource need;
    who does it by when, and the corrective/preventive action that carries it out, if any."""

    __tablename__ = "management_review_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("management_reviews.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text)
    responsible: Mapped[str] = mapped_column(String(120), default="")
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("corrective_actions.id"), nullable=True)

    review: Mapped[ManagementReview] = relationship(back_populates="items")
    action: Mapped[Action | None] = relationship()
