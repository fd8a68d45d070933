"""What actions does when other features report something (see :mod:`webapp.signals`).

Receivers run inside the sender's transaction: they add to the session and audit, never commit.
"""
from __future__ import annotations

from actions import proposals, service
from webapp.signals import campaign_below_target, satisfaction_measured


@campaign_below_target.connect
def open_for_campaign_below_target(campaign, *, title: str, description: str, actor=None, **extra):
    """Procedure 4.4.1: a survey below target opens a corrective action, once per campaign.

    A campaign closed again after a reopen opens none (even if its first action was voided). Actions a
    manager opened from a proposal about the campaign (preventive, or for one category) do not count.
    Returns the action opened now, or None.
    """
    if any(a.kind == "corrective" and a.source_ref is None
           for a in service.actions_for("survey_campaign", campaign.id)):
        return None
    return service.open_action(kind="corrective", source_type="survey_campaign", source_id=campaign.id,
                               project_id=campaign.project_id, title=title, description=description, actor=actor)


@satisfaction_measured.connect
def propose_from_survey(campaign, *, label: str, target: float, measures: list, actor=None, **extra):
    """A closed survey's figures may propose preventive actions (see :mod:`actions.proposals`)."""
    return proposals.from_survey(campaign, label=label, target=target, measures=measures, actor=actor)
