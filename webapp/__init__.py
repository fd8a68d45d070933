"""The application factory. Importing this package builds nothing."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build a ProcDesk app: defaults, ``instance/config.py``, environment, then ``test_config``."""
    from webapp import config as cfg

    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "PROCDESK_INSTANCE_PATH", str(PROJECT_ROOT / "instance"))
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(cfg.defaults(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(cfg.from_environment())
    if test_config:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    cfg.finalise(app.config, app.instance_path)
    _trust_proxies(app)

    _init_extensions(app)

    from webapp import cli, errors, features, formatting, forms, navigation, security, textguard, views

    app.register_blueprint(views.bp)
    features.init_app(app)  # every enabled feature's blueprints, models, CLI, listeners, setup

    security.init_app(app)
    textguard.init_app(app)  # after security: an anonymous request gets its 401 first
    errors.init_app(app)
    formatting.init_app(app)
    forms.init_app(app)  # the form macros' error summary and control attributes
    navigation.init_app(app)
    cli.init_app(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """``PROXY_FIX`` = n trusted reverse proxies: take the client address and scheme from the last n
    ``X-Forwarded-For`` / ``X-Forwarded-Proto`` values (those our proxies appended or set). 0: the headers
    are ignored, so a client cannot choose the address the login throttle sees. ``X-Forwarded-Host``,
    ``-Port`` and ``-Prefix`` are never trusted: the proxy passes ``Host`` through instead."""
    proxies = int(app.config.get("PROXY_FIX") or 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_port=0, x_prefix=0)


def _init_extensions(app: Flask) -> None:
    from webapp import i18n_setup
    from webapp.db import init_engine
    from webapp.extensions import csrf, db, login_manager, migrate
    from webapp.store import init_store

    db.init_app(app)
    with app.app_context():
        init_engine(db.engine)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n_setup.init_app(app)
    init_store(app)

