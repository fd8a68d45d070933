"""Caring services (亲情服务): free help staff give owners, counted per project and month."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Project, User
from records.voiding import Voidable
from webapp.db import UTCDateTime, utcnow
from webapp.extensions import db


class CaringService(Voidable, db.Model):
    """One caring service given to one household. Voided rows stay, excluded from the counts."""

    __tablename__ = "caring_services"
    __table_args__ = (
        # The monthly counts group by project over a date range.
        Index("ix_caring_services_project_served", "project_id", "served_on"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    served_on: Mapped[date] = mapped_column(Date, index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    household: Mapped[str] = mapped_column(String(60))  # building / unit / room, e.g. 3栋2单元501
    service: Mapped[str] = mapped_column(String(120))
    minutes: Mapped[int] = mapped_column(Integer)
    owner_comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    project: Mapped[Project] = relationship()
    staff: Mapped[User] = relationship(foreign_keys=[staff_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
