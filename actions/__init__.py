"""Corrective and preventive actions (纠正/预防措施) with their effectiveness checks."""
from actions.permissions import ACTIONS_MANAGE
from records.permissions import RECORDS_READ
from webapp.features import Feature, NavEntry
from webapp.i18n import _l

FEATURE = Feature(
    name="actions",
    blueprints=("actions.views", "actions.api"),
    models=("actions.models",),
    nav=(NavEntry("actions.index", _l("Actions"), RECORDS_READ, "/actions", order=50),),
    permissions=(ACTIONS_MANAGE,),
    listeners=("actions.listeners", "actions.home"),
)
