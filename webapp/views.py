"""Core pages: home and health check."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from flask_login import current_user
from sqlalchemy import text

from webapp.extensions import db
from webapp.signals import home_panels_wanted
from webapp.store import get_store

bp = Blueprint("core", __name__)


@bp.get("/")
def home():
    """The navigation as cards, then what the features put on the home page (:data:`home_panels_wanted`)."""
    panels = [html for _receiver, html in home_panels_wanted.send(current_user._get_current_object()) if html]
    return render_template("home.html", panels=panels)


@bp.get("/healthz")
def healthz():
    """Database and store health, for load balancers and monitoring (200, or 503 naming what is wrong)."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # report, never raise: this is what the check is for
        db.session.rollback()
        checks["database"] = "unreachable"
    try:
        # "locked" (a git lock file older than writers ever hold one), "corrupt" (objects of the
        # head of main, or objects a request failed to read, are missing/unreadable) or
        # "unreachable". The object check runs at most every STORE_HEALTH_SECONDS per worker; no
        # paths in the answer (this URL is public): the 503 pages and the maintenance command name them.
        checks["store"] = get_store().health(verify_seconds=current_app.config["STORE_HEALTH_SECONDS"]).status
    except Exception:
        checks["store"] = "unreachable"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "degraded", **checks), 200 if healthy else 503
