"""One place that turns errors into responses: a translated page, or JSON under /api/."""
from __future__ import annotations

from flask import Flask, jsonify, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, StatementError
from werkzeug.exceptions import HTTPException

from webapp.exceptions import DomainError, ValidationError
from webapp.i18n import _l
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
         409: "conflict", 413: "too_large", 429: "too_many_requests", 500: "server_error"}


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


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        from webapp.extensions import db

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
        from webapp.extensions import db

        db.session.rollback()
        return error_response(400, _l("A number or date in the request is out of range."))

    @app.errorhandler(StatementError)
    def statement_error(exc: StatementError):
        if isinstance(exc.orig, OverflowError | ValueError):  # raised while binding a parameter
            return out_of_range(exc)
        return unexpected(exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        from webapp.extensions import db

        app.logger.exception("unhandled error")
        db.session.rollback()
        return error_response(500)
