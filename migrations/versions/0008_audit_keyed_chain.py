"""audit chain keyed with a secret, covering every column; git commit link

Revision ID: 0008_audit_keyed_chain
Revises: 0007_meetings_caring_actions
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0008_audit_keyed_chain'
down_revision = '0007_meetings_caring_actions'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
