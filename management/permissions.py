"""The permission of the annual management review (ISO 9001 §9.3)."""
from webapp.i18n import _l
from webapp.permissions import Permission

#: See the annual report, record the meeting's decisions and approve the record.
MANAGEMENT_REVIEW = Permission("management.review", _l("Hold the annual management review"), roles=("manager",))

PERMISSIONS = (MANAGEMENT_REVIEW,)
