"""What the audit log's codes mean to a reader: actions, object types and field names, translated.

The log stores stable codes (``complaint.acknowledge`` on ``complaints`` 12, field ``handler_id``);
people read the labels kept here. The log sits below every feature, so it holds the labels of all
of them: ``tests/test_audit_readable.py`` scans the source for every action the code can record and
fails when one has no label here, and likewise for every table (a possible object type).

Entries are never rewritten, so a code that the code no longer records keeps its label (list it in
:data:`RETIRED_ACTIONS`). An unknown code still reads as words (:func:`action_label` and friends),
marked ``known=False`` so a page can flag it.
"""
from __future__ import annotations

from dataclasses import dataclass

from webapp.i18n import _l

#: action code -> label. Grouped by the part before the dot (the family), in the order people meet them.
ACTIONS = {
    # procedures (the git store) and reading them
    "procedure.created": _l("Procedure first published"),
    "procedure.published": _l("New procedure version published"),
    "procedure.withdrawn": _l("Procedure withdrawn"),
    "procedure.imported": _l("Procedure imported"),
    "procedure.review_recorded": _l("Review outcome committed (no procedure changed)"),
    "procedure.committed_outside_app": _l("Change committed outside ProcDesk"),
    "procedure.acknowledged": _l("Procedure read and confirmed"),
    # procedure reviews
    "review.opened": _l("Review opened"),
    "review.trigger_added": _l("Trigger added"),
    "review.participant_added": _l("Participant added"),
    "review.participant_removed": _l("Participant removed"),
    "review.moved": _l("Review moved to another step"),
    "review.draft_saved": _l("Draft saved"),
    "review.proposed": _l("Proposal filed"),
    "review.commented": _l("Review comment made"),
    "review.comment_resolved": _l("Comment resolved"),
    "review.comment_reopened": _l("Comment reopened"),
    "review.meeting_recorded": _l("Meeting recorded"),
    "review.signed": _l("Review signed"),
    "review.signoff_voided": _l("Signature voided"),
    "review.decided": _l("Decision recorded"),
    "review.merge_conflict": _l("Merge conflict"),
    "review.conflict_resolved": _l("Conflict resolved"),
    "review.implemented": _l("Review implemented"),
    "review.reminded": _l("Reminder sent"),
    "review.rule_saved": _l("Approval rule saved"),
    "review.rule_removed": _l("Approval rule removed"),
    # complaints, praise and suggestions
    "complaint.created": _l("Complaint, praise or suggestion entered"),
    "complaint.updated": _l("Register entry edited"),
    "complaint.acknowledge": _l("Complaint acknowledged"),
    "complaint.start": _l("Handling started"),
    "complaint.resolve": _l("Complaint resolved"),
    "complaint.follow_up": _l("Follow-up recorded"),
    "complaint.close": _l("Case closed"),
    "complaint.reopened": _l("Case reopened"),
    "complaint.review_requested": _l("Procedure review requested"),
    "complaint.action_opened": _l("Corrective action opened"),
    "complaint.voided": _l("Register entry voided"),
    # owner surveys
    "survey_campaign.created": _l("Survey created"),
    "survey_campaign.updated": _l("Survey changed"),
    "survey_campaign.closed": _l("Survey closed"),
    "survey_campaign.reopened": _l("Survey reopened"),
    "survey_campaign.voided": _l("Survey voided"),
    "survey_response.created": _l("Survey form entered"),
    "survey_response.imported": _l("Survey forms imported"),
    "survey_response.voided": _l("Survey form voided"),
    # committee meetings, caring services
    "meeting.created": _l("Committee meeting recorded"),
    "meeting.updated": _l("Committee meeting changed"),
    "meeting.voided": _l("Committee meeting voided"),
    "meeting.issue_registered": _l("Meeting issue entered in the register"),
    "meeting.issue_review_requested": _l("Procedure review requested"),
    "caring.created": _l("Caring service recorded"),
    "caring.voided": _l("Caring service voided"),
    # corrective and preventive actions
    "action.opened": _l("Corrective action opened"),
    "action.analyse": _l("Cause analysed and action planned"),
    "action.take_action": _l("Action carried out"),
    "action.verify": _l("Effectiveness checked"),
    "action.reopened": _l("Found ineffective: back to cause analysis"),
    "action.close": _l("Corrective action closed"),
    "action.voided": _l("Corrective action voided"),
    "action.review_requested": _l("Procedure review requested"),
    "action_proposal.proposed": _l("Preventive action proposed"),
    "action_proposal.accepted": _l("Proposal accepted"),
    "action_proposal.dismissed": _l("Proposal dismissed"),
    # management review
    "management_review.created": _l("Management review record created"),
    "management_review.updated": _l("Management review record changed"),
    "management_review.approved": _l("Management review record approved"),
    # attachments (signed minutes, photos) of records
    "attachment.uploaded": _l("Attachment uploaded"),
    "attachment.voided": _l("Attachment voided"),
    # settings and reference data
    "setting.changed": _l("Setting changed"),
    "category.created": _l("Service category created"),
    "category.updated": _l("Service category changed"),
    # people and access
    "user.created": _l("User created"),
    "user.updated": _l("User changed"),
    "user.password_changed": _l("Password changed"),
    "token.created": _l("API token created"),
    "token.revoked": _l("API token revoked"),
    "department.created": _l("Department created"),
    "department.updated": _l("Department changed"),
    "project.created": _l("Project created"),
    "project.updated": _l("Project changed"),
    "role.created": _l("Role created"),
    "role.updated": _l("Role changed"),
}

#: Codes no code records any more whose entries remain in logs (labelled above, not required by the scan).
RETIRED_ACTIONS: frozenset[str] = frozenset()

#: object type (a table name, or a name given to ``record(object_type=…)``) -> label.
OBJECT_TYPES = {
    "procedure": _l("Procedure"),
    "procedures": _l("Procedure"),
    "procedure_versions": _l("Procedure version"),
    "procedure_acknowledgements": _l("Reading confirmation"),
    "git_commit": _l("Git commit"),
    "store_state": _l("Document store"),
    "store_problems": _l("Document store problem"),
    "review": _l("Review"),
    "reviews": _l("Review"),
    "review_items": _l("Procedure under review"),
    "review_triggers": _l("Review trigger"),
    "review_participants": _l("Review participant"),
    "review_proposals": _l("Review proposal"),
    "review_comments": _l("Review comment"),
    "review_meetings": _l("Review meeting"),
    "review_signoffs": _l("Review signature"),
    "review_events": _l("Review step"),
    "review_sequences": _l("Review numbering"),
    "review_approval_rules": _l("Approval rule"),
    "complaints": _l("Complaint, praise or suggestion"),
    "complaint_events": _l("Complaint step"),
    "complaint_sequences": _l("Complaint numbering"),
    "survey_campaigns": _l("Owner survey"),
    "survey_responses": _l("Survey form"),
    "survey_answers": _l("Survey answer"),
    "survey_form_sequences": _l("Survey form numbering"),
    "meetings": _l("Committee meeting"),
    "meeting_issues": _l("Committee-meeting issue"),
    "caring_services": _l("Caring service"),
    "service_categories": _l("Service category"),
    "corrective_actions": _l("Corrective action"),
    "action_proposals": _l("Preventive action proposal"),
    "management_reviews": _l("Management review"),
    "management_review_items": _l("Management review item"),
    "settings": _l("Setting"),
    "attachments": _l("Attachment"),
    "users": _l("User"),
    "roles": _l("Role"),
    "departments": _l("Department"),
    "projects": _l("Project"),
    "api_tokens": _l("API token"),
    "login_attempts": _l("Login attempt"),
    "notifications": _l("Notification"),
    "system": _l("System"),
}

#: Tables that are never the object of an entry and need no label.
UNLABELLED_TABLES = frozenset({"audit_entries", "alembic_version"})

#: Object types that name the same thing: filtering by the key also finds the values
#: (a review's release names its review ``review``, the workflow ``reviews``).
OBJECT_ALIASES = {"reviews": ("review",), "procedure": ("procedures",)}

#: An action family (the code before the dot) -> the object type whose label names it.
FAMILY_OBJECT = {
    "procedure": "procedure", "review": "reviews", "complaint": "complaints", "survey_campaign": "survey_campaigns",
    "survey_response": "survey_responses", "meeting": "meetings", "caring": "caring_services",
    "action": "corrective_actions", "action_proposal": "action_proposals", "management_review": "management_reviews",
    "setting": "settings", "attachment": "attachments", "category": "service_categories", "user": "users", "token": "api_tokens",
    "department": "departments", "project": "projects", "role": "roles",
}

#: field name -> label, for every object type.
FIELDS = {
    # common
    "id": _l("ID"),
    "code": _l("Code"),
    "name": _l("Name"),
    "name_en": _l("English name"),
    "title": _l("Title"),
    "number": _l("Number"),
    "kind": _l("Kind"),
    "status": _l("Status"),
    "state": _l("State"),
    "active": _l("Active"),
    "description": _l("Description"),
    "reason": _l("Reason"),
    "text": _l("Text"),
    "year": _l("Year"),
    "project_id": _l("Project"),
    "department_id": _l("Department"),
    "department": _l("Department"),
    "departments": _l("Departments"),
    "category_id": _l("Category"),
    "category": _l("Category"),
    "voided_at": _l("Voided at"),
    "void_reason": _l("Void reason"),
    "voided_by": _l("Voided by"),
    "source": _l("Source"),
    "source_type": _l("Source type"),
    "source_id": _l("Source record"),
    "source_ref": _l("Source reference"),
    "closed_at": _l("Closed at"),
    "closed_by_id": _l("Closed by"),
    "due_on": _l("Due date"),
    "sort_order": _l("Sort order"),
    "action_id": _l("Corrective action"),
    "entry_id": _l("Register entry"),
    "count": _l("Count"),
    # people and access
    "login": _l("Login"),
    "display_name": _l("Display name"),
    "email": _l("E-mail"),
    "locale": _l("Language"),
    "participant_category": _l("Participant category"),
    "roles": _l("Roles"),
    "permissions": _l("Permissions"),
    "user": _l("User"),
    "prefix": _l("Token prefix"),
    "address": _l("Address"),
    "households": _l("Households"),
    "value": _l("Setting value"),
    # procedures and git
    "version": _l("Version"),
    "commit": _l("Commit"),
    "base": _l("Base commit"),
    "effective": _l("Effective date"),
    "approved_by": _l("Approved by"),
    "approvers": _l("Approvers"),
    "signatures": _l("Signatures"),
    "summary": _l("Summary"),
    "file": _l("File"),
    "files": _l("Files"),
    "files_count": _l("Files changed"),
    "files_unreadable": _l("Files unreadable"),
    "paths": _l("Files"),
    "parents": _l("Parent commits"),
    "author": _l("Commit author"),
    "author_email": _l("Author's e-mail"),
    "authored_at": _l("Written at"),
    "committed_at": _l("Committed at"),
    "trailers": _l("Commit trailers"),
    "record": _l("Change record"),
    "procedure_code": _l("Procedure code"),
    "codes": _l("Procedures"),
    # reviews
    "review": _l("Review"),
    "review_id": _l("Review"),
    "review_number": _l("Review number"),
    "chair": _l("Chair"),
    "trigger": _l("Trigger"),
    "proposal": _l("Proposal"),
    "comment": _l("Comment"),
    "clause": _l("Clause"),
    "signoff": _l("Signature"),
    "meaning": _l("Meaning"),
    "meeting": _l("Meeting"),
    "versions": _l("Versions"),
    "requirements": _l("Approvals required"),
    "no_rejection": _l("No outstanding rejection"),
    # complaints
    "channel": _l("Channel"),
    "received_at": _l("Received at"),
    "building": _l("Building"),
    "room": _l("Room"),
    "contact_name": _l("Contact name"),
    "contact_phone": _l("Contact phone"),
    "severity": _l("Severity"),
    "handler_id": _l("Handler"),
    "respond_due": _l("Respond by"),
    "resolve_due": _l("Resolve by"),
    "acknowledged_at": _l("Acknowledged at"),
    "resolved_at": _l("Resolved at"),
    "cause": _l("Cause"),
    "action_taken": _l("Action taken"),
    "followed_up_at": _l("Followed up at"),
    "feedback_given": _l("Feedback given"),
    "handling_satisfaction": _l("Satisfaction with the handling"),
    "follow_up_notes": _l("Follow-up notes"),
    "reopen_count": _l("Times reopened"),
    "review_procedure_code": _l("Procedure to review"),
    "review_requested_at": _l("Review requested at"),
    # surveys
    "campaign_id": _l("Survey"),
    "period": _l("Period"),
    "distributed": _l("Forms distributed"),
    "distributed_on": _l("Distributed on"),
    "category_ids": _l("Service categories"),
    "rating_scale": _l("Rating scale"),
    "overall": _l("Overall rating"),
    "comments": _l("Comments"),
    "ratings": _l("Ratings"),
    "batch": _l("Import batch"),
    "first_id": _l("First form"),
    "last_id": _l("Last form"),
    "sha256": _l("File checksum (SHA-256)"),
    # meetings, caring services
    "held_on": _l("Meeting date"),
    "location": _l("Location"),
    "attendees": _l("Attendees"),
    "topics": _l("Topics"),
    "served_on": _l("Service date"),
    "staff_id": _l("Staff member"),
    "household": _l("Household"),
    "service": _l("Service"),
    "owner_comment": _l("Owner's comment"),
    # corrective actions and proposals
    "cause_analysis": _l("Cause analysis"),
    "planned_action": _l("Planned action"),
    "analysed_by_id": _l("Analysed by"),
    "action_taken_by_id": _l("Carried out by"),
    "responsible_department_id": _l("Responsible department"),
    "responsible_user_id": _l("Responsible person"),
    "remeasured": _l("What was re-measured"),
    "verification_result": _l("Result of the effectiveness check"),
    "verified_by_id": _l("Verified by"),
    "verified_at": _l("Verified at"),
    "complainant_feedback": _l("Feedback to the complainant"),
    "key": _l("Proposal key"),
    "decision_reason": _l("Reason for the decision"),
    "decided_by_id": _l("Decided by"),
    "decided_at": _l("Decided at"),
    # attachments
    "record_kind": _l("Kind of record"),
    "record_id": _l("Record number"),
    "filename": _l("File name"),
    "content_type": _l("File type"),
    "size": _l("Size (bytes)"),
    # management review
    "held": _l("Held"),
    "conclusions": _l("Conclusions"),
    "follow_up": _l("Follow-up"),
    "approved_by_id": _l("Approved by"),
    "approved_name": _l("Approver's name"),
    "approved_at": _l("Approved at"),
    "items": _l("Items"),
    "responsible": _l("Responsible"),
    "figures": _l("Figures"),
}

#: (object type, field) -> label, where a field means something else on that object.
OBJECT_FIELDS = {
    ("meetings", "minutes"): _l("Meeting minutes"),
    ("caring_services", "minutes"): _l("Minutes spent"),
    ("corrective_actions", "effective"): _l("Action was effective"),
    ("reviews", "code"): _l("Procedure"),
    ("reviews", "proposal"): _l("Review proposal"),
    ("action_proposals", "reason"): _l("Why it is proposed"),
    ("survey_campaigns", "count"): _l("Forms imported"),
    ("git_commit", "source"): _l("Written from"),
}


#: (field, key) -> label, for the keys of a value that is itself a record (a rating scale's levels).
NESTED_FIELDS = {
    ("rating_scale", "value"): _l("Value"),
    ("rating_scale", "satisfied"): _l("Counts as satisfied"),
    ("items", "text"): _l("Text"),
}


_COMPLAINT_STATUS = {"received": _l("Received"), "acknowledged": _l("Acknowledged"), "in_progress": _l("In progress"),
                     "resolved": _l("Resolved"), "followed_up": _l("Followed up"), "closed": _l("Case closed")}
_ACTION_KINDS = {"corrective": _l("Corrective action"), "preventive": _l("Preventive action")}
_PARTICIPANT_CATEGORIES = {"management": _l("Management"), "dept_head": _l("Department head"),
                           "frontline": _l("Frontline staff"), "customer_rep": _l("Customer representative")}

#: (object type, field) -> {stored code -> label}: the coded values people read as words. The same
#: words as the features' own lists (``tests/test_audit_readable.py`` holds them equal); a code not
#: listed is shown as stored.
VALUES = {
    ("complaints", "kind"): {"complaint": _l("Complaint"), "praise": _l("Praise"), "suggestion": _l("Suggestion")},
    ("complaints", "channel"): {"letter": _l("Letter"), "visit": _l("Visit"), "phone": _l("Phone"),
                                "online": _l("Online"), "committee": _l("Committee")},
    ("complaints", "severity"): {"normal": _l("Normal"), "urgent": _l("Urgent"), "major": _l("Major")},
    ("complaints", "status"): _COMPLAINT_STATUS,
    ("complaints", "handling_satisfaction"): {"satisfied": _l("Satisfied"), "neutral": _l("Fairly satisfied"),
                                              "dissatisfied": _l("Dissatisfied")},
    ("corrective_actions", "kind"): _ACTION_KINDS,
    ("corrective_actions", "status"): {"open": _l("To analyse"), "cause_analysed": _l("Causes analysed"),
                                       "action_taken": _l("Action taken"), "verified": _l("Verified"),
                                       "closed": _l("Closed out")},
    ("corrective_actions", "source_type"): {"survey_campaign": _l("Survey below target"),
                                            "complaint": _l("Complaint"),
                                            "meeting_issue": _l("Owners' meeting issue"),
                                            "dashboard": _l("Satisfaction dashboard"),
                                            "manual": _l("Entered by hand")},
    ("action_proposals", "kind"): _ACTION_KINDS,
    ("action_proposals", "status"): {"pending": _l("Waiting for a decision"), "accepted": _l("Accepted"),
                                     "dismissed": _l("Dismissed")},
    ("survey_campaigns", "status"): {"open": _l("Collecting forms"), "closed": _l("Finished")},
    ("reviews", "state"): {"propose": _l("Propose"), "discuss": _l("Discuss"), "decide": _l("Decide"),
                           "implement": _l("Implement"), "closed": _l("Closed"), "cancelled": _l("Cancelled")},
    ("reviews", "kind"): {"periodic": _l("Periodic review"), "incident": _l("Incident review")},
    ("reviews", "trigger"): {"schedule": _l("Review schedule"), "complaint": _l("Complaint"),
                             "action": _l("Corrective action"), "meeting_issue": _l("Committee-meeting issue"),
                             "person": _l("Request")},
    ("reviews", "meaning"): {"reviewed": _l("Reviewed"), "approved": _l("Approved"), "rejected": _l("Rejected")},
    ("reviews", "category"): _PARTICIPANT_CATEGORIES,
    ("users", "participant_category"): _PARTICIPANT_CATEGORIES,
    ("management_reviews", "state"): {"draft": _l("Draft"), "approved": _l("Approved")},
}


@dataclass(frozen=True)
class Label:
    """A code's label; ``known`` is False when the code is not in the registry (the text is made up)."""

    code: str
    text: str
    known: bool = True

    def __str__(self) -> str:
        return self.text


def humanize(code: str) -> str:
    """``follow_up_notes`` -> ``Follow up notes``: a code as words, for codes with no label."""
    words = str(code or "").replace("_", " ").replace(".", " ").strip()
    return words[:1].upper() + words[1:] if words else "—"


def family(code: str) -> str:
    return str(code or "").partition(".")[0]


def object_label(object_type: str) -> Label:
    label = OBJECT_TYPES.get(object_type)
    return Label(object_type, str(label), True) if label is not None else Label(object_type, humanize(object_type),
                                                                                 False)


def family_label(name: str) -> Label:
    """The label of an action family (``complaint``): its object type's label."""
    return object_label(FAMILY_OBJECT.get(name, name))


def action_label(code: str) -> Label:
    """The translated label of action ``code``; an unknown one as "<object>: <words>" (``known=False``)."""
    label = ACTIONS.get(code)
    if label is not None:
        return Label(code, str(label), True)
    head, _dot, tail = str(code or "").partition(".")
    return Label(code, f"{family_label(head).text}: {humanize(tail).lower()}" if tail else humanize(code), False)


def field_label(name: str, object_type: str = "", parent: str = "") -> Label:
    """The label of field ``name`` (of an object of ``object_type``; a key inside field ``parent``)."""
    label = (parent and NESTED_FIELDS.get((parent, name))) or OBJECT_FIELDS.get((object_type, name)) \
        or FIELDS.get(name)
    return Label(name, str(label), True) if label is not None else Label(name, humanize(name), False)


def value_label(object_type: str, field: str, value) -> str | None:
    """The words for a coded value (``complaints``, ``status``, ``"followed_up"``), or None."""
    if not isinstance(value, str):
        return None
    label = VALUES.get((object_type, field), {}).get(value)
    return str(label) if label is not None else None


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The actions for a filter's drop-down: ``[(family label, [(value, label), …]), …]``, each family
    first offering all of its actions (value ``family.``), families and actions in label order."""
    families: dict[str, list[tuple[str, str]]] = {}
    for code in ACTIONS:
        families.setdefault(family(code), []).append((code, str(ACTIONS[code])))
    groups = []
    for name, actions in families.items():
        title = family_label(name).text
        all_of = (f"{name}.", str(_l("All: %(object)s", object=title)))
        groups.append((title, [all_of, *sorted(actions, key=lambda a: a[1])]))
    return sorted(groups, key=lambda g: g[0])
