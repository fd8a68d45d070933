"""Procedure control: read, history, redline, publish, acknowledgements, search (documents in git)."""
from procedures.permissions import PERMISSIONS, PROCEDURES_READ
from webapp.features import Feature, NavEntry
from webapp.i18n import _l

FEATURE = Feature(
    name="procedures",
    blueprints=("procedures.views", "procedures.api", "procedures.publishing.views", "procedures.publishing.api",
                "procedures.acknowledgements.views"),
    models=("procedures.models", "procedures.acknowledgements.models"),
    cli=("procedures.cli:procedures_cli",),
    nav=(NavEntry("procedures.index", _l("Procedures"), PROCEDURES_READ, "/procedures", order=10),
         NavEntry("acknowledgements.to_read", _l("To read"), PROCEDURES_READ, "/acknowledgements", order=20)),
    permissions=PERMISSIONS,
    demo=("procedures.demo",),
    setup="procedures.hook:setup",  # the store's pre-receive hook checks plain-git pushes
    listeners=("procedures.home",),
)
