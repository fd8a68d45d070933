"""satisfaction dashboard: the register's month fingerprint is read from an index

Revision ID: 0017_dashboard_index
Revises: 0016_management_reviews
"""
from alembic import op

revision = '0017_dashboard_index'
down_revision = '0016_management_reviews'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_complaints_received_version_updated', 'complaints',
                    ['received_at', 'version', 'updated_at'], unique=False)


def downgrade():
    op.drop_index('ix_complaints_received_version_updated', table_name='complaints')
