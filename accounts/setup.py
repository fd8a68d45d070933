"""How the accounts feature plugs into the core: who is logged in, by session or by API token."""
from __future__ import annotations

from flask import Flask, current_app

from accounts import cache, services
from accounts.principal import Principal, principal_for_login_id
from webapp.extensions import db, login_manager
from webapp.security import TOKEN_AUTHENTICATOR


def init_app(app: Flask) -> None:
    # The ORM hooks that announce account changes to every process's cached copies.
    cache.listen(db.session)
    login_manager.user_loader(load_user)
    app.extensions[TOKEN_AUTHENTICATOR] = user_for_token


def load_user(login_id: str):
    """Flask-Login's loader: the principal of a per-login id, or None when that login has ended."""
    return principal_for_login_id(login_id, current_app.config["REMEMBER_COOKIE_DURATION"])


def user_for_token(token: str):
    """The principal an API token belongs to, or None."""
    user = services.user_for_token(token)
    return Principal.of(user) if user is not None else None
