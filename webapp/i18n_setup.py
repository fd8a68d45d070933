"""Flask-Babel wiring: which language a request uses and where the catalogues are."""
from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request, session
from flask_login import current_user

from webapp import PROJECT_ROOT
from webapp.config import FEATURES, LOCALES
from webapp.extensions import babel

#: Packages that keep their own catalogue in ``<package>/translations`` (plus the core one, which holds
#: ``webapp``'s and ``api``'s messages): every feature but the API.
CATALOGUE_PACKAGES = tuple(name for name in FEATURES if name != "api")


def catalogue_dirs(root) -> list[str]:
    dirs = [str(root / "translations")]
    dirs += [str(root / pkg / "translations") for pkg in CATALOGUE_PACKAGES if (root / pkg / "translations").is_dir()]
    return dirs


def select_locale() -> str:
    """The user's saved choice, else the session's (login page), else the configured default."""
    if not has_request_context():  # CLI and background work
        return current_app.config["DEFAULT_LOCALE"]
    forced = g.get("locale_override")
    if forced:
        return forced
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    return current_app.config["DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["TIMEZONE"]


def init_app(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(catalogue_dirs(PROJECT_ROOT))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    @app.before_request
    def _lang_from_query():
        # ?lang=en works everywhere (the login page has no user to store it on).
        lang = request.args.get("lang")
        if lang in LOCALES:
            session["locale"] = lang
