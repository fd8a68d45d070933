"""Owner survey campaigns (业主调查表) and the returned forms.

A campaign is one round of the yearly owner survey in one project. Forms *distributed*
are typed in; forms *returned* are never typed: they are the count of non-voided
responses. Each response's per-category ratings live in a child table, so rates per
category are one grouped aggregate over an indexed join instead of JSON parsing.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, SmallInteger, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from accounts.models import Project, User
from records.numbering import next_value
from records.voiding import Voidable
from satisfaction.models import ServiceCategory
from satisfaction.surveys.scale import LEGACY_JSON, Scale
from webapp.db import UTCDateTime, utcnow
from webapp.extensions import db

CAMPAIGN_STATUSES = ("open", "closed")
SOURCES = ("paper", "xlsx", "api")


class SurveyCampaign(Voidable, db.Model):
    """One survey round of one project in one year (optionally a labelled period of it).

    ``slot`` is ``"<project_id>:<year>:<period>"`` while the campaign is not voided and NULL
    once it is: its unique constraint allows one live campaign per project, year and period
    even when two workers create them at the same moment, yet a voided one can be redone.
    ``version`` is SQLAlchemy's version counter: every UPDATE checks it, so two clerks editing
    the same campaign cannot silently overwrite each other.
    """

    __tablename__ = "survey_campaigns"
    __table_args__ = (Index("ix_survey_campaigns_year_project", "year", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    year: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(40), default="")
    slot: Mapped[str | None] = mapped_column(String(80), nullable=True, unique=True)
    # Occupied households when the survey started (defaults to the project's count).
    households: Mapped[int] = mapped_column(Integer)
    distributed: Mapped[int] = mapped_column(Integer, default=0)
    distributed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The questions: a snapshot of the rated service categories (ids, in form order).
    category_ids: Mapped[list] = mapped_column(JSON, default=list)
    # The rating scale the forms are rated on: a copy of the setting when the campaign was created
    # (satisfaction.surveys.scale), so a later change of the setting never rewrites these forms' rates.
    rating_scale: Mapped[list] = mapped_column(JSON, server_default=LEGACY_JSON)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    project: Mapped[Project] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.status == "open" and self.voided_at is None

    @property
    def label(self) -> str:
        """``2026`` or ``2026 上半年``, without the project."""
        return f"{self.year} {self.period}".strip()

    @property
    def scale(self) -> Scale:
        """The rating scale this campaign's forms are rated on."""
        return Scale.from_json(self.rating_scale)


class SurveyResponse(Voidable, db.Model):
    """One returned survey form: overall rating (a value of its campaign's scale), optional room, comments."""

    __tablename__ = "survey_responses"
    # Covers the rate queries (count per campaign and overall rating, non-voided) without
    # reading the table, and the campaign's list of forms. A form's number is unique in its campaign.
    __table_args__ = (Index("ix_survey_responses_campaign_voided_overall", "campaign_id", "voided_at", "overall"),
                      Index("uq_survey_responses_campaign_number", "campaign_id", "number", unique=True))

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("survey_campaigns.id"))
    # The form's number in its campaign (1, 2, 3 … in the order entered; a voided form keeps its number),
    # from SurveyFormSequence. ``id`` stays the form's identity in URLs, the API and the audit log.
    number: Mapped[int] = mapped_column(Integer)
    room: Mapped[str] = mapped_column(String(40), default="")
    overall: Mapped[int] = mapped_column(SmallInteger)
    comments: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(10), default="paper")
    # Rows that came in together from one XLSX file share a batch id (named in the audit log).
    batch: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    campaign: Mapped[SurveyCampaign] = relationship()
    entered_by: Mapped[User | None] = relationship(foreign_keys=[entered_by_id])
    answers: Mapped[list[SurveyAnswer]] = relationship(back_populates="response", lazy="selectin",
                                                       order_by="SurveyAnswer.category_id")

    def ratings(self) -> dict[int, int]:
        """category id -> rating, for the categories answered on this form."""
        return {a.category_id: a.rating for a in self.answers}


class SurveyAnswer(db.Model):
    """The rating (on the campaign's scale) a form gives one service category; unanswered ones have no row."""

    __tablename__ = "survey_answers"

    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id"), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"), primary_key=True)
    rating: Mapped[int] = mapped_column(SmallInteger)

    response: Mapped[SurveyResponse] = relationship(back_populates="answers")
    category: Mapped[ServiceCategory] = relationship()


class SurveyFormSequence(db.Model):
    """The last form number handed out per campaign (``scope`` is ``"campaign-<id>"``).

    Numbers are taken with ``UPDATE … SET last_value = last_value + n RETURNING``
    (:func:`records.numbering.next_value`), which locks the row until commit, so two clerks
    entering forms of the same campaign at once still get different numbers.
    """

    __tablename__ = "survey_form_sequences"
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


def number_scope(campaign_id: int) -> str:
    """The :class:`SurveyFormSequence` scope of a campaign's form numbers."""
    return f"campaign-{int(campaign_id)}"


@event.listens_for(Session, "before_flush")
def _number_new_forms(session, _flush_context, _instances) -> None:
    """Forms made with the ORM without a number (a test, demo data) take their campaign's next ones at
    flush, so no path can store a form without its number. The services number forms themselves."""
    waiting: dict[int, list[SurveyResponse]] = {}
    for obj in session.new:
        if isinstance(obj, SurveyResponse) and obj.number is None:
            campaign_id = obj.campaign_id if obj.campaign_id is not None else obj.campaign.id
            waiting.setdefault(campaign_id, []).append(obj)
    for campaign_id, forms in waiting.items():
        first = next_value(SurveyFormSequence, number_scope(campaign_id), len(forms)) - len(forms) + 1
        for n, form in enumerate(sorted(forms, key=lambda f: f.entered_at or utcnow())):
            form.number = first + n
