"""Imports every model module so SQLAlchemy's metadata knows all tables."""
from accounts.models import ApiToken, Department, LoginAttempt, Project, Role, User  # noqa: F401
from actions.models import Action  # noqa: F401
from audit.models import AuditEntry  # noqa: F401
from procedures.acknowledgements.models import ProcedureAcknowledgement  # noqa: F401
from procedures.models import Procedure, ProcedureVersion, StoreState  # noqa: F401
from satisfaction.caring.models import CaringService  # noqa: F401
from satisfaction.complaints.models import Complaint, ComplaintEvent, ComplaintSequence  # noqa: F401
from satisfaction.meetings.models import Meeting, MeetingIssue  # noqa: F401
from satisfaction.models import ServiceCategory, Setting  # noqa: F401
from satisfaction.surveys.models import SurveyAnswer, SurveyCampaign, SurveyResponse  # noqa: F401
