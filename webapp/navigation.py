"""The main navigation: what each role sees. Entries whose blueprint is not there are skipped."""
from __future__ import annotations

from flask import Flask, current_app, request, url_for
from flask_login import current_user

from accounts.permissions import P
from webapp.i18n import _l

#: (endpoint, label, permission needed, active when the path starts with)
NAV = [
    ("core.home", _l("Home"), None, None),
    ("procedures.index", _l("Procedures"), P.PROCEDURES_READ, "/procedures"),
    ("acknowledgements.to_read", _l("To read"), P.PROCEDURES_READ, "/acknowledgements"),
    ("workflow.index", _l("Reviews"), P.REVIEWS_PARTICIPATE, "/reviews"),
    ("satisfaction.index", _l("Satisfaction"), P.RECORDS_READ, "/satisfaction"),
    ("actions.index", _l("Actions"), P.RECORDS_READ, "/actions"),
    ("admin.users", _l("Admin"), P.USERS_MANAGE, "/admin"),
    ("audit.index", _l("Audit log"), P.AUDIT_READ, "/audit"),
]


def nav_items() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    endpoints = current_app.view_functions
    items = []
    for endpoint, label, permission, prefix in NAV:
        if endpoint not in endpoints or (permission and not current_user.can(permission)):
            continue
        active = request.path == "/" if prefix is None else request.path.startswith(prefix)
        items.append({"url": url_for(endpoint), "label": label, "active": active, "endpoint": endpoint})
    return items


def has_endpoint(name: str) -> bool:
    """For templates: link to a page only when the feature providing it is installed."""
    return name in current_app.view_functions


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"nav_items": nav_items})
    app.jinja_env.globals["has_endpoint"] = has_endpoint
