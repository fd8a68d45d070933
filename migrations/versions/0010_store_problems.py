"""documents in the store that cannot be synced, listed for document controllers

Revision ID: 0010_store_problems
Revises: 0009_meeting_minutes_html
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0010_store_problems'
down_revision = '0009_meeting_minutes_html'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
