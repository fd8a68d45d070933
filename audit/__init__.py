"""Append-only, hash-chained audit log of every change to a record."""
from audit.permissions import AUDIT_READ, PERMISSIONS
from webapp.features import Feature, NavEntry
from webapp.i18n import _l

FEATURE = Feature(
    name="audit",
    blueprints=("audit.views",),
    models=("audit.models",),
    cli=("audit.cli:audit_cli",),
    nav=(NavEntry("audit.index", _l("Audit log"), AUDIT_READ, "/audit", order=90),),
    permissions=PERMISSIONS,
    listeners=("audit.listeners",),
)
