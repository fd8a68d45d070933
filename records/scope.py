"""Project scoping: a clerk sees and edits only the projects they belong to.

A project the user does not work on is answered exactly like one that does not exist
(NotFound, "Unknown project."): a 403 would tell a clerk which ids and codes exist in
other projects. Every record service checks scope through :func:`check_project`, so
records of other projects are a 404 on every page and API alike.
"""
from __future__ import annotations

from flask_login import current_user
from sqlalchemy import select

from accounts.models import Project
from records.permissions import RECORDS_ALL_PROJECTS
from webapp.exceptions import NotFound
from webapp.extensions import db
from webapp.i18n import _l


def project_ids(user=None) -> set[int] | frozenset[int] | None:
    """Ids of the projects whose records the user may see; ``None`` means all of them."""
    user = user or current_user
    if user.can(RECORDS_ALL_PROJECTS):
        return None
    return user.member_project_ids()


def visible_projects(user=None) -> list[Project]:
    """Active projects the user may see records of, by code."""
    user = user or current_user
    allowed = project_ids(user)
    stmt = select(Project).where(Project.active.is_(True)).order_by(Project.code)
    if allowed is not None:
        stmt = stmt.where(Project.id.in_(allowed or [-1]))
    return list(db.session.execute(stmt).scalars())


def check_project(project_id, user=None) -> Project:
    """The project, when the user may work on it; otherwise NotFound, the same for a project
    that does not exist and for one the user does not work on (no hint that it exists)."""
    user = user or current_user
    try:
        project = db.session.get(Project, int(project_id))
    except (TypeError, ValueError):
        project = None
    allowed = project_ids(user)
    if project is None or (allowed is not None and project.id not in allowed):
        raise NotFound(_l("Unknown project."))
    return project


def restrict(stmt, project_column, user=None):
    """Limit a query to the user's projects (no-op for users who see all projects)."""
    user = user or current_user
    allowed = project_ids(user)
    if allowed is None:
        return stmt
    return stmt.where(project_column.in_(allowed or [-1]))
