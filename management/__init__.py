"""The annual management review (管理评审, ISO 9001 §9.3): one report per year over the review inputs —
actions from the previous review, customer satisfaction and complaints, corrective actions, procedure
reviews — and the meeting's decisions, kept as an audited record."""
from management.permissions import MANAGEMENT_REVIEW, PERMISSIONS
from webapp.features import Feature, NavEntry
from webapp.i18n import _l

FEATURE = Feature(
    name="management",
    blueprints=("management.views",),
    models=("management.models",),
    nav=(NavEntry("management.index", _l("Management review"), MANAGEMENT_REVIEW, "/management", order=60),),
    permissions=PERMISSIONS,
)
