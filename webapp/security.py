"""Request-level security: who the user is, login required everywhere, CSRF, headers.

Rules:
- every endpoint needs a logged-in user except those in ``PUBLIC_ENDPOINTS``;
- a request with ``Authorization: Bearer <token>`` is authenticated by that token only
  (the session is ignored) and needs no CSRF token, because browsers cannot attach that
  header cross-site without a CORS pre-flight, which ProcDesk never grants;
- every other unsafe request (POST, PUT, PATCH, DELETE) needs a valid CSRF token, in the
  form or in the ``X-CSRFToken`` header.
"""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Flask, current_app, g, jsonify, redirect, request, session, url_for
from flask_login import AnonymousUserMixin, current_user
from flask_wtf.csrf import generate_csrf

from support.caching import LockedLRU
from webapp.extensions import csrf, login_manager
from webapp.i18n import _, _l

#: ``app.extensions`` key of the function ``token -> user or None`` (the accounts feature sets it, as it
#: sets Flask-Login's user loader): the core checks every request without knowing what a user is.
TOKEN_AUTHENTICATOR = "procdesk.token_authenticator"  # noqa: S105 — a dict key, not a secret

PUBLIC_ENDPOINTS = frozenset({"accounts.login", "static", "core.healthz", "core.favicon"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"  # Flask-WTF's default WTF_CSRF_FIELD_NAME, which ProcDesk keeps

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def safe_next_url(target: str | None, fallback: str) -> str:
    """Only same-site absolute paths are followed after login (no open redirects)."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target


#: (secret key, session token) -> (signed token, when signed); see csrf_token().
_signed_csrf_tokens = LockedLRU(8192)


def csrf_token() -> str:
    """This session's signed CSRF token, for pages and forms.

    Flask-WTF signs the session's token anew for every page (a key derivation and an
    HMAC, a fifth of a cached procedure page). Any token it signed for the session stays valid
    (``WTF_CSRF_TIME_LIMIT``: None; with a limit, for half of it), so each process reuses
    the last one it signed; Flask-WTF takes a token already in ``g`` as this request's.
    """
    raw = session.get(CSRF_FIELD)
    limit = current_app.config.get("WTF_CSRF_TIME_LIMIT")
    if raw and CSRF_FIELD not in g:
        hit = _signed_csrf_tokens.get((current_app.secret_key, raw))
        if hit is not None and (limit is None or time.time() - hit[1] < limit / 2):
            setattr(g, CSRF_FIELD, hit[0])
            return hit[0]
    token = generate_csrf()
    _signed_csrf_tokens.put((current_app.secret_key, session[CSRF_FIELD]), (token, time.time()))
    return token


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    return None


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    # login_user() stores user.login_session_id(): a login id unique per login (accounts.principal).
    login_manager.id_attribute = "login_session_id"

    @app.before_request
    def authenticate_and_protect():
        token = _bearer_token()
        if token is not None:
            user = current_app.extensions[TOKEN_AUTHENTICATOR](token)
            # Overrides whatever the session says for this request only.
            g._login_user = user if user is not None else AnonymousUserMixin()
            g.token_auth = user is not None
        public = request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None
        if not public and not current_user.is_authenticated:
            if is_api_request():
                resp = jsonify(error="unauthorized", message=_("Log in or send a valid API token."))
                resp.status_code = 401
                resp.headers["WWW-Authenticate"] = 'Bearer realm="procdesk"'
                return resp
            if request.method in UNSAFE_METHODS:
                csrf.protect()  # a forged form gets the CSRF error, not a login page
            return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
        if token is None and request.method in UNSAFE_METHODS:
            csrf.protect()
        return None

    @app.after_request
    def security_headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        # g._login_user is set only when the request looked at the user (not for static files).
        user = g.get("_login_user")
        if user is not None and user.is_authenticated and "Cache-Control" not in h:
            # Pages of a logged-in user must not be kept by shared caches.
            h["Cache-Control"] = "private, no-cache"
        return response
