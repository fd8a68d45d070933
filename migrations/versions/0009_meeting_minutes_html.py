"""meeting minutes rendered once when saved

Revision ID: 0009_meeting_minutes_html
Revises: 0008_audit_keyed_chain
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0009_meeting_minutes_html'
down_revision = '0008_audit_keyed_chain'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
