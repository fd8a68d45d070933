"""The permissions of the satisfaction and action records (shared by the record features)."""
from webapp.i18n import _l
from webapp.permissions import Permission

RECORDS_READ = Permission("records.read", _l("Read satisfaction records"), roles=("manager", "clerk"))
RECORDS_WRITE = Permission("records.write", _l("Enter satisfaction records"), roles=("clerk",))
RECORDS_ALL_PROJECTS = Permission("records.all_projects", _l("Records of all projects"), roles=("manager",))
RECORDS_VOID = Permission("records.void", _l("Void records"), roles=("manager",))
RECORDS_CONFIGURE = Permission("records.configure", _l("Configure records (categories, deadlines)"),
                               roles=("manager",))

PERMISSIONS = (RECORDS_READ, RECORDS_WRITE, RECORDS_ALL_PROJECTS, RECORDS_VOID, RECORDS_CONFIGURE)
