"""Owners'-committee meetings (业主委员会座谈会) and the issues raised at them (procedure 4.2.2)."""
from __future__ import annotations

from datetime import date, datetime

from markupsafe import Markup
from sqlalchemy import Column, Date, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Project, User
from records.voiding import Voidable
from satisfaction.complaints.models import Complaint
from satisfaction.models import ServiceCategory
from webapp.db import UTCDateTime, utcnow
from webapp.extensions import db

meeting_staff = Table(
    "meeting_staff",
    db.metadata,
    Column("meeting_id", ForeignKey("meetings.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)


class Meeting(Voidable, db.Model):
    """A meeting with the owners' committee; ``minutes`` is Markdown, ``minutes_html`` its sanitised
    rendering, made once when the minutes are saved (views never render Markdown)."""

    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(200), default="")
    # Owners' representatives and other outside attendees, one per line.
    attendees: Mapped[str] = mapped_column(Text, default="")
    topics: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[str] = mapped_column(Text, default="")
    minutes_html: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)  # optimistic lock (version_id_col)

    project: Mapped[Project] = relationship()
    staff: Mapped[list[User]] = relationship(secondary=meeting_staff, order_by=User.display_name)
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    issues: Mapped[list[MeetingIssue]] = relationship(
        back_populates="meeting", order_by="MeetingIssue.position", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    @property
    def minutes_markup(self) -> Markup:
        """The minutes as rendered and sanitised when they were saved."""
        return Markup(self.minutes_html or "")

    @property
    def attendee_list(self) -> list[str]:
        return [line.strip() for line in (self.attendees or "").splitlines() if line.strip()]


class MeetingIssue(db.Model):
    """One problem or wish raised at a meeting; may become a register entry (``entry_id``)."""

    __tablename__ = "meeting_issues"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(Text)
    category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), nullable=True, index=True)

    meeting: Mapped[Meeting] = relationship(back_populates="issues")
    category: Mapped[ServiceCategory] = relationship()
    entry: Mapped[Complaint | None] = relationship()
