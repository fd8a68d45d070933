"""The audit feature's receivers of :mod:`webapp.signals`."""
from __future__ import annotations

from audit import service
from webapp import signals


@signals.demo_loaded.connect
def anchor_demo_log(_app, **_extra):
    """Seal what the demo wrote, as the nightly ``flask audit anchor`` would."""
    if service.anchor_quietly() is not None:
        return "audit log anchored in the git store"
    return None
