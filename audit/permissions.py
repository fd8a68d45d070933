"""Who may read the audit log."""
from webapp.i18n import _l
from webapp.permissions import Permission

AUDIT_READ = Permission("audit.read", _l("Read the audit log"), roles=("controller", "manager"))

PERMISSIONS = (AUDIT_READ,)
