"""Plumbing shared by the record features (satisfaction, actions): project scope, input cleaning,
exports, voiding, attachments, and the records permissions."""
from records.permissions import PERMISSIONS
from webapp.features import Feature

FEATURE = Feature(name="records", permissions=PERMISSIONS, models=("records.attachments",))
