"""One place that turns errors into responses: a translated page, or JSON under /api/."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, jsonify, render_template
from flask_babel import format_timedelta
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, StatementError
from werkzeug.exceptions import HTTPException

import repo_store
from webapp.exceptions import DomainError, ValidationError
from webapp.extensions import db
from webapp.i18n import _, _l
from webapp.security import is_api_request

TITLES = {
    400: _l("Bad request"),
    401: _l("Please log in"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("Upload too large"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
    503: _l("Temporarily unavailable"),
}

MESSAGES = {
    400: _l("The request could not be understood. Please check what you entered."),
    401: _l("Log in or send a valid API token."),
    403: _l("You do not have permission to do this."),
    404: _l("This page or record does not exist."),
    405: _l("This action is not available here."),
    409: _l("Someone else changed this at the same time. Reload and try again."),
    413: _l("The file is larger than allowed."),
    429: _l("Too many requests. Please wait a moment and try again."),
    500: _l("An unexpected error happened. It has been logged; please try again."),
}

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 422: "unprocessable", 429: "too_many_requests", 500: "server_error",
         503: "unavailable"}


def error_response(status: int, message=None, *, details=None, errors=None):
    """A JSON error under /api/, a translated error page elsewhere."""
    message = str(message) if message else str(MESSAGES.get(status, MESSAGES[400]))
    if is_api_request():
        body = {"error": CODES.get(status, "error"), "message": message}
        if errors:
            body["errors"] = {k: [str(m) for m in v] for k, v in errors.items()}
        if details:
            body["details"] = details
        return jsonify(body), status
    return render_template("errors/error.html", status=status, title=TITLES.get(status, TITLES[400]),
                           message=message, errors=errors), status


#: Retry-After (seconds) of a 503 for each kind of store problem.
STORE_RETRY_AFTER = {"locked": 60, "corrupt": 600, "unavailable": 60}
MAINTENANCE_COMMAND = "flask procedures maintenance"


def store_problem(exc: repo_store.StoreError) -> tuple[str, str, str, dict]:
    """``(problem, message, hint, details)`` of a store failure.

    ``message`` is for every reader; ``hint`` tells the administrator what is wrong
    (the lock file and its age, or the damaged object) and what to run.
    """
    if isinstance(exc, repo_store.StoreLocked):
        age = int(exc.age) if exc.age is not None else 0
        safe = int(current_app.config.get("STORE_LOCK_STALE_SECONDS", 300))
        message = _("The document store is locked, so changes cannot be saved right now. Nothing was changed; "
                    "please try again in a few minutes.")
        hint = _("For the administrator: the lock file %(path)s was last modified %(age)s ago. A git process "
                 "that was stopped while writing leaves such a file behind. If no git process is running, run "
                 "“%(command)s”: it removes lock files older than %(safe)s.",
                 path=exc.lock_path, age=format_timedelta(timedelta(seconds=age)), command=MAINTENANCE_COMMAND,
                 safe=format_timedelta(timedelta(seconds=safe)))
        return "locked", message, hint, {"problem": "locked", "lock_file": exc.lock_path, "age_seconds": age}
    if isinstance(exc, repo_store.StoreCorrupt):
        damaged = " ".join(x for x in (exc.kind, exc.object) if x) or _("an object")
        if exc.path:
            damaged += f" ({exc.path})"
        message = _("Part of the document store is damaged, so this cannot be shown or saved right now. "
                    "Nothing was changed.")
        hint = _("For the administrator: %(object)s is missing or corrupt in the document store. Run "
                 "“%(command)s” to check the whole store (git fsck), then restore the damaged objects from a "
                 "backup or a clone.", object=damaged, command=MAINTENANCE_COMMAND)
        return "corrupt", message, hint, {"problem": "corrupt", "object": exc.object, "kind": exc.kind,
                                          "path": exc.path}
    message = _("The document store is not available right now. Nothing was changed; please try again in a few "
                "minutes.")
    hint = _("For the administrator: the application log has the git error; “%(command)s” checks the store.",
             command=MAINTENANCE_COMMAND)
    return "unavailable", message, hint, {"problem": "unavailable"}


def _may_see_store_details() -> bool:
    """Holders of ``STORE_DETAILS_PERMISSIONS`` (administrators and document controllers) are told the
    lock file or the damaged object."""
    from flask_login import current_user

    user = current_user
    return bool(user and user.is_authenticated
                and any(user.can(p) for p in current_app.config["STORE_DETAILS_PERMISSIONS"]))


def store_error_response(exc: repo_store.StoreError):
    """503 with ``Retry-After``: a page naming the problem, or ``{"error": "store_unavailable", …}``."""
    problem, message, hint, details = store_problem(exc)
    if not _may_see_store_details():
        # Paths and object ids are for the people who can act on them, not for every reader.
        hint, details = None, {"problem": problem}
    if is_api_request():
        response = jsonify(error="store_unavailable", message=f"{message} {hint}" if hint else message,
                           details=details)
    else:
        response = current_app.make_response(render_template(
            "errors/error.html", status=503, title=_l("Document store unavailable"), message=message, hint=hint))
    response.status_code = 503
    response.headers["Retry-After"] = str(STORE_RETRY_AFTER[problem])
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(repo_store.StoreError)
    def store_error(exc: repo_store.StoreError):
        # Lookups, conflicts and bad arguments are the services' to translate; one that leaks is a bug.
        if isinstance(exc, repo_store.NotFound | repo_store.Conflict | repo_store.InvalidArgument
                      | repo_store.NothingToCommit):
            return unexpected(exc)

        db.session.rollback()
        if isinstance(exc, repo_store.StoreLocked | repo_store.StoreCorrupt):
            app.logger.error("document store problem: %s", exc)
        else:
            app.logger.exception("document store unavailable")
        return store_error_response(exc)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()  # never leave a half-written record behind
        errors = exc.errors if isinstance(exc, ValidationError) else None
        details = {k: v for k, v in exc.details.items() if isinstance(v, str | int | float | list | dict | None)}
        return error_response(exc.status_code, exc.message, details=details or None, errors=errors)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(400, _l("The form has expired or is not valid (CSRF). Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        msg = exc.description if status not in MESSAGES and exc.description else None
        return error_response(status, msg)

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def out_of_range(exc: Exception):
        # A number or date too large for the database (an id of 10**20, year 1): bad input, not a crash.
        db.session.rollback()
        return error_response(400, _l("A number or date in the request is out of range."))

    @app.errorhandler(StatementError)
    def statement_error(exc: StatementError):
        if isinstance(exc.orig, OverflowError | ValueError):  # raised while binding a parameter
            return out_of_range(exc)
        return unexpected(exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        db.session.rollback()
        return error_response(500)
