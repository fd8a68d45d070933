"""The permission of the people who plan, approve and close corrective and preventive actions."""
from webapp.i18n import _l
from webapp.permissions import Permission

#: Management: plan and approve every action, verify and close it, decide proposals. The head of the
#: responsible department may do the same for their department's actions without it (actions.roles).
ACTIONS_MANAGE = Permission("actions.manage", _l("Plan, approve and close corrective and preventive actions"),
                            roles=("manager",))
