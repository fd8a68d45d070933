"""The review workflow: semi-annual and incident-triggered reviews of procedures.

propose → discuss → decide → implement → closed (or cancelled): drafts on git branches, anchored
discussion, electronic sign-offs bound to the draft commit, release through the publishing seam,
and the change record committed to the store.
"""
from procedures.permissions import REVIEWS_PARTICIPATE
from webapp.features import Feature, NavEntry
from webapp.i18n import _l

FEATURE = Feature(
    name="workflow",
    blueprints=("workflow.views", "workflow.api", "workflow.register_views"),
    models=("workflow.models",),
    cli=("workflow.cli:reviews_cli",),
    nav=(NavEntry("reviews.dashboard", _l("Reviews"), REVIEWS_PARTICIPATE, "/reviews", order=15),),
    permissions=(),
    demo=("workflow.demo",),
    listeners=("workflow.listeners", "workflow.home"),
)
