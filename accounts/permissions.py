"""Permissions are code; roles (data) grant them; views declare the one they need."""
from __future__ import annotations

from functools import wraps

from flask_login import current_user

from webapp.exceptions import PermissionDenied
from webapp.i18n import _l


class P:
    """Every permission ProcDesk checks. Values are stored in ``role.permissions``."""

    PROCEDURES_READ = "procedures.read"
    PROCEDURES_PUBLISH = "procedures.publish"
    PROCEDURES_ACK_REPORT = "procedures.ack_report"
    REVIEWS_PARTICIPATE = "reviews.participate"
    REVIEWS_MANAGE = "reviews.manage"
    RECORDS_READ = "records.read"
    RECORDS_WRITE = "records.write"
    RECORDS_ALL_PROJECTS = "records.all_projects"
    RECORDS_VOID = "records.void"
    RECORDS_CONFIGURE = "records.configure"
    USERS_MANAGE = "users.manage"
    AUDIT_READ = "audit.read"


ALL_PERMISSIONS = tuple(v for k, v in vars(P).items() if k.isupper())

PERMISSION_LABELS = {
    P.PROCEDURES_READ: _l("Read procedures"),
    P.PROCEDURES_PUBLISH: _l("Publish and withdraw procedures"),
    P.PROCEDURES_ACK_REPORT: _l("See reading acknowledgements"),
    P.REVIEWS_PARTICIPATE: _l("Take part in reviews"),
    P.REVIEWS_MANAGE: _l("Run reviews"),
    P.RECORDS_READ: _l("Read satisfaction records"),
    P.RECORDS_WRITE: _l("Enter satisfaction records"),
    P.RECORDS_ALL_PROJECTS: _l("Records of all projects"),
    P.RECORDS_VOID: _l("Void records"),
    P.RECORDS_CONFIGURE: _l("Configure records (categories, deadlines)"),
    P.USERS_MANAGE: _l("Manage users, departments, projects and roles"),
    P.AUDIT_READ: _l("Read the audit log"),
}

#: The roles seeded into a new database: code -> (Chinese name, English name, permissions).
DEFAULT_ROLES = {
    "admin": ("系统管理员", "Administrator", ALL_PERMISSIONS),
    "controller": ("文控", "Document controller", (
        P.PROCEDURES_READ, P.PROCEDURES_PUBLISH, P.PROCEDURES_ACK_REPORT,
        P.REVIEWS_PARTICIPATE, P.REVIEWS_MANAGE, P.AUDIT_READ,
    )),
    "manager": ("管理层", "Management", (
        P.PROCEDURES_READ, P.PROCEDURES_ACK_REPORT, P.REVIEWS_PARTICIPATE, P.REVIEWS_MANAGE,
        P.RECORDS_READ, P.RECORDS_ALL_PROJECTS, P.RECORDS_VOID, P.RECORDS_CONFIGURE, P.AUDIT_READ,
    )),
    "participant": ("复审参与人", "Review participant", (P.PROCEDURES_READ, P.REVIEWS_PARTICIPATE)),
    "clerk": ("客服专员", "Customer-service clerk", (P.PROCEDURES_READ, P.RECORDS_READ, P.RECORDS_WRITE)),
    "reader": ("员工（阅读）", "Staff reader", (P.PROCEDURES_READ,)),
}

#: Review-participant categories named by the procedure: code -> label.
PARTICIPANT_CATEGORIES = {
    "management": _l("Management"),
    "dept_head": _l("Department head"),
    "frontline": _l("Frontline staff"),
    "customer_rep": _l("Customer representative"),
}


def require(permission: str, user=None) -> None:
    """Raise :class:`PermissionDenied` unless ``user`` (default: current user) has ``permission``."""
    user = current_user if user is None else user
    if not getattr(user, "is_authenticated", False) or not user.can(permission):
        raise PermissionDenied(_l("You do not have permission to do this."))


def permission_required(permission: str):
    """View decorator: the view needs ``permission`` (login is enforced globally)."""

    def decorator(view):
        view.required_permission = permission

        @wraps(view)
        def wrapped(*args, **kwargs):
            require(permission)
            return view(*args, **kwargs)

        wrapped.required_permission = permission
        return wrapped

    return decorator
