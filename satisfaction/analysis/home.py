"""The satisfaction figures on the home page (answering :data:`webapp.signals.home_panels_wanted`)."""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from records.permissions import RECORDS_READ
from records.stats import LABEL_TEXTS
from satisfaction.analysis import figures
from satisfaction.analysis.snapshot import snapshot
from webapp.features import is_enabled
from webapp.signals import home_panels_wanted


@home_panels_wanted.connect
def key_figures(sender, **extra):
    """This year's key figures of the user's projects (the dashboard's own, from its cache), with a link on."""
    user = sender
    if not is_enabled("satisfaction") or not getattr(user, "is_authenticated", False) or not user.can(RECORDS_READ):
        return None
    sel = figures.selection(user)
    snap = snapshot(sel)
    texts = {"labels": {k: str(v) for k, v in LABEL_TEXTS.items()}}
    return Markup(render_template("satisfaction/analysis/_home.html", data=snap.data, texts=texts, sel=sel))
