"""Users, roles and permissions, departments, projects, login and API tokens."""
from accounts.permissions import PERMISSIONS, USERS_MANAGE
from webapp.features import Feature, NavEntry
from webapp.i18n import _l

FEATURE = Feature(
    name="accounts",
    blueprints=("accounts.views", "accounts.admin_views"),
    models=("accounts.models",),
    cli=("accounts.cli:users_cli",),
    nav=(NavEntry("admin.users", _l("Admin"), USERS_MANAGE, "/admin", order=80),),
    permissions=PERMISSIONS,
    demo=("accounts.demo",),
    setup="accounts.setup:init_app",
)
