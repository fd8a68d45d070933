"""How satisfaction plugs into an app: its records that corrective actions come from.

:func:`init_app` registers surveys, complaints and meeting issues as action sources of the app
(:mod:`actions.sources`), so the actions pages can name and link them without importing satisfaction.
"""
from __future__ import annotations

from flask import Flask, url_for
from sqlalchemy.orm import joinedload

from actions.sources import register_source
from satisfaction.complaints.models import Complaint
from satisfaction.meetings.models import MeetingIssue
from satisfaction.surveys.models import SurveyCampaign


def _campaign(campaign: SurveyCampaign) -> tuple[str, str]:
    return f"{campaign.project.label} {campaign.label}", url_for("surveys.detail", campaign_id=campaign.id)


def _complaint(entry: Complaint) -> tuple[str, str]:
    return entry.number, url_for("complaints.detail", entry_id=entry.id)


def _meeting_issue(issue: MeetingIssue) -> tuple[str, str]:
    meeting = issue.meeting
    return (f"{meeting.held_on.isoformat()} {meeting.title}",
            url_for("meetings.detail", meeting_id=issue.meeting_id, _anchor=f"issue-{issue.id}"))


def init_app(app: Flask) -> None:
    register_source(app, "survey_campaign", SurveyCampaign, joinedload(SurveyCampaign.project), describe=_campaign)
    register_source(app, "complaint", Complaint, describe=_complaint)
    register_source(app, "meeting_issue", MeetingIssue, joinedload(MeetingIssue.meeting), describe=_meeting_issue)
