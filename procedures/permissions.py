"""The permissions of procedure control: reading, publishing, acknowledgements and reviews."""
from webapp.i18n import _l
from webapp.permissions import Permission

_STAFF = ("controller", "manager", "participant", "clerk", "reader")

PROCEDURES_READ = Permission("procedures.read", _l("Read procedures"), roles=_STAFF)
PROCEDURES_PUBLISH = Permission("procedures.publish", _l("Publish and withdraw procedures"), roles=("controller",))
PROCEDURES_ACK_REPORT = Permission("procedures.ack_report", _l("See reading acknowledgements"),
                                   roles=("controller", "manager"))
# Reviews are how procedures change, so procedure control owns their permissions; the review workflow
# checks them, and publishing uses REVIEWS_MANAGE to offer approvers.
REVIEWS_PARTICIPATE = Permission("reviews.participate", _l("Take part in reviews"),
                                 roles=("controller", "manager", "participant"))
REVIEWS_MANAGE = Permission("reviews.manage", _l("Run reviews"), roles=("controller", "manager"))

PERMISSIONS = (PROCEDURES_READ, PROCEDURES_PUBLISH, PROCEDURES_ACK_REPORT, REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
