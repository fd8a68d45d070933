"""Admin pages: users, departments, projects and roles."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from accounts import services
from accounts.forms import DepartmentForm, ProjectForm, RoleForm, UserForm
from accounts.models import Department, Project, Role, User
from accounts.permissions import USERS_MANAGE, permission_labels
from webapp.exceptions import Conflict, NotFound
from webapp.extensions import db
from webapp.forms import choices, submit_form
from webapp.i18n import _, _l
from webapp.permissions import permission_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

REFERENCE = {
    "departments": (Department, DepartmentForm, ("code", "name", "name_en", "active"), _l("Departments")),
    "projects": (Project, ProjectForm, ("code", "name", "name_en", "address", "households", "active"), _l("Projects")),
    "roles": (Role, RoleForm, ("code", "name", "name_en", "permissions"), _l("Roles")),
}


def _all(model, order):
    return list(db.session.execute(select(model).order_by(order)).scalars())


def _get(model, ident: int):
    obj = db.session.get(model, ident)
    if obj is None:
        raise NotFound()
    return obj


@bp.get("/")
@permission_required(USERS_MANAGE)
def index():
    return redirect(url_for("admin.users"))


@bp.get("/users")
@permission_required(USERS_MANAGE)
def users():
    q = (request.args.get("q") or "").strip()
    stmt = select(User).options(selectinload(User.projects), joinedload(User.department)).order_by(User.login)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(User.login.ilike(like) | User.display_name.ilike(like))
    return render_template("admin/users.html", users=list(db.session.execute(stmt).scalars()), q=q)


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission_required(USERS_MANAGE)
def user_edit(user_id: int | None = None):
    user = _get(User, user_id) if user_id else None
    form = UserForm(obj=user)
    form.fill_choices(_all(Role, Role.id), _all(Department, Department.code), _all(Project, Project.code))
    if user is not None and not form.is_submitted():
        form.roles.data = [r.code for r in user.roles]
        form.projects.data = [p.code for p in user.projects]
        form.department.data = user.department.code if user.department else ""
        form.participant_category.data = user.participant_category or ""
        form.locale.data = user.locale or ""
    if user is not None:
        form.login.render_kw = {"readonly": True}

    def data():
        return services.UserData(
            login=user.login if user else form.login.data or "", display_name=form.display_name.data or "",
            email=form.email.data or "", password=form.password.data or None, active=form.active.data,
            locale=form.locale.data or None, participant_category=form.participant_category.data or None,
            department_code=form.department.data or None, role_codes=tuple(form.roles.data or ()),
            project_codes=tuple(form.projects.data or ()))

    def save():
        if user is None:
            return services.create_user(data())
        services.update_user(user, data())
        return user

    # A refused submit shows every error at once (the form's and the service's) and keeps what was
    # typed; a password is never sent back.
    saved, page = submit_form(form, save, lambda form, status: (
        render_template("admin/user_form.html", form=form, user=user), status),
        check=lambda: services.user_errors(data(), user))
    if page is not None:
        return page
    flash(_("User %(login)s saved.", login=saved.login), "success")
    return redirect(url_for("admin.users"))


@bp.get("/<any(departments, projects, roles):kind>")
@permission_required(USERS_MANAGE)
def reference_list(kind: str):
    model, _form, fields, title = REFERENCE[kind]
    rows = _all(model, model.id if kind == "roles" else model.code)
    return render_template("admin/reference_list.html", kind=kind, rows=rows, fields=fields, title=title,
                           permission_labels=permission_labels())


@bp.route("/<any(departments, projects, roles):kind>/new", methods=["GET", "POST"])
@bp.route("/<any(departments, projects, roles):kind>/<int:ident>", methods=["GET", "POST"])
@permission_required(USERS_MANAGE)
def reference_edit(kind: str, ident: int | None = None):
    model, form_cls, fields, title = REFERENCE[kind]
    obj = _get(model, ident) if ident else None
    form = form_cls(obj=obj)
    if kind == "roles":
        form.permissions.choices = choices((p, str(label)) for p, label in permission_labels().items())
    status = 200
    if form.validate_on_submit():
        values = {f: getattr(form, f).data for f in fields}
        if kind == "roles":
            values["permissions"] = sorted(values["permissions"])
        try:
            services.save_reference(model, obj, values)
        except Conflict as exc:
            db.session.rollback()
            form.code.errors = [str(exc)]
            status = 409
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("admin.reference_list", kind=kind))
    elif form.is_submitted():
        status = 400
    return render_template("admin/reference_form.html", kind=kind, form=form, obj=obj, title=title), status
