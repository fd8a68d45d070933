"""Core pages: home and health check."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text

from webapp import workbench
from webapp.extensions import db
from webapp.store import get_store

bp = Blueprint("core", __name__)


@bp.get("/")
def home():
    """The workbench: what waits for the user, from every feature (:mod:`webapp.workbench`)."""
    return render_template("home.html", groups=workbench.collect(current_user._get_current_object()))


@bp.get("/favicon.ico")
def favicon():
    """Where browsers look for an icon when a page names none (files, JSON, print views): the SVG icon."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


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
