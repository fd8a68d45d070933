"""Login, logout, profile, password and API tokens."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_login.config import COOKIE_NAME

from accounts import services
from accounts.forms import LoginForm, PasswordForm, ProfileForm, TokenForm
from webapp.config import LOCALES
from webapp.exceptions import ValidationError
from webapp.extensions import db
from webapp.forms import place_errors
from webapp.i18n import _
from webapp.security import safe_next_url

bp = Blueprint("accounts", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        headers = {}
        try:
            # request.remote_addr is the client's address; behind a reverse proxy only with PROXY_FIX.
            user = services.authenticate(form.login.data, form.password.data, request.remote_addr or "",
                                         services.LoginLimits.from_config(current_app.config))
        except (services.InvalidCredentials, services.TooManyAttempts) as exc:
            flash(str(exc), "error")
            status = exc.status_code
            if "retry_after" in exc.details:
                headers["Retry-After"] = str(exc.details["retry_after"])
        else:
            chosen = session.get("locale")
            session.clear()  # a fresh session on login (no fixation)
            login_user(user, remember=form.remember.data)
            if chosen and not user.locale:
                services.set_locale(user, chosen)
            return redirect(safe_next_url(request.args.get("next"), url_for("core.home")))
        return render_template("accounts/login.html", form=form), status, headers
    if request.method == "POST":
        status = 400
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        services.log_out(current_user.account)  # ends this user's sessions everywhere, not just this cookie
    session.clear()
    logout_user()  # after clear(): it marks the remember-me cookie for deletion in the session
    flash(_("You have logged out on all your devices."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/profile", methods=["GET", "POST"])
def profile():
    user = current_user.account
    form = ProfileForm(obj=user)
    if not form.is_submitted():
        form.locale.data = user.locale or current_app.config["DEFAULT_LOCALE"]
    status = 200
    if form.validate_on_submit():
        data = services.UserData(
            login=user.login, display_name=form.display_name.data, email=form.email.data or "",
            active=True, locale=form.locale.data, participant_category=user.participant_category,
            department_code=user.department.code if user.department else None,
            role_codes=tuple(r.code for r in user.roles), project_codes=tuple(p.code for p in user.projects))
        services.update_user(user, data, actor=user)
        session["locale"] = user.locale
        flash(_("Your profile was saved."), "success")
        return redirect(url_for("accounts.profile"))
    if form.is_submitted():
        status = 400
    return render_template("accounts/profile.html", form=form, password_form=PasswordForm(prefix="pw"),
                           token_form=TokenForm(prefix="tk"), tokens=services.tokens_of(user)), status


@bp.post("/profile/password")
def change_password():
    form = PasswordForm(prefix="pw")
    if form.validate_on_submit():
        try:
            services.change_password(current_user.account, form.current_password.data, form.new_password.data)
        except ValidationError as exc:
            db.session.rollback()
            place_errors(form, exc, {"password": "new_password"})
        else:
            # Keep this session (and its remember-me cookie, if any) with the new nonce.
            remember = current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME) in request.cookies
            login_user(current_user.account, remember=remember)
            flash(_("Your password was changed. Other sessions have been logged out."), "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=ProfileForm(obj=current_user), password_form=form,
                           token_form=TokenForm(prefix="tk"), tokens=services.tokens_of(current_user)), 400


@bp.post("/profile/tokens")
def create_token():
    form = TokenForm(prefix="tk")
    if not form.validate_on_submit():
        return render_template("accounts/profile.html", form=ProfileForm(obj=current_user),
                               password_form=PasswordForm(prefix="pw"), token_form=form,
                               tokens=services.tokens_of(current_user)), 400
    token = services.create_token(current_user, form.name.data)
    return render_template("accounts/profile.html", form=ProfileForm(obj=current_user),
                           password_form=PasswordForm(prefix="pw"), token_form=TokenForm(prefix="tk"),
                           tokens=services.tokens_of(current_user), new_token=token)


@bp.post("/profile/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    services.revoke_token(current_user, token_id)
    flash(_("The token was revoked."), "success")
    return redirect(url_for("accounts.profile"))


@bp.post("/language")
def set_language():
    """Switch language for this session and remember it as the user's preference."""
    lang = request.form.get("lang", "")
    if lang in LOCALES:
        session["locale"] = lang
        services.set_locale(current_user.account, lang)
    return redirect(safe_next_url(request.form.get("next"), url_for("core.home")))
