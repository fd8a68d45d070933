"""The main navigation: the entries the enabled features declare, filtered by the user's permissions."""
from __future__ import annotations

from flask import Flask, request, url_for
from flask_login import current_user

from webapp.features import NavEntry, nav_entries
from webapp.i18n import _l

#: The core's own entry; features add theirs in their :class:`webapp.features.Feature` record.
HOME = NavEntry("core.home", _l("Home"), order=0)


def nav_items() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    items = []
    for entry in (HOME, *nav_entries()):
        if entry.permission and not current_user.can(entry.permission):
            continue
        active = request.path == "/" if entry.prefix is None else request.path.startswith(entry.prefix)
        items.append({"url": url_for(entry.endpoint), "label": entry.label, "active": active,
                      "endpoint": entry.endpoint})
    return items


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"nav_items": nav_items})
