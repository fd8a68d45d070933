"""acknowledgements: who has read which procedure version

Revision ID: 0003_acknowledgements
Revises: 0002_procedures
Create Date: 2026-11-27 06:30:00

"""
import sqlalchemy as sa
from alembic import op

import webapp.db

# revision identifiers, used by Alembic.
revision = '0003_acknowledgements'
down_revision = '0002_procedures'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('procedure_acknowledgements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('version', sa.String(length=10), nullable=False),
    sa.Column('commit', sa.String(length=40), nullable=False),
    sa.Column('acknowledged_at', webapp.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_procedure_acknowledgements_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedure_acknowledgements')),
    sa.UniqueConstraint('user_id', 'code', 'version', name=op.f('uq_procedure_acknowledgements_user_id'))
    )
    with op.batch_alter_table('procedure_acknowledgements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedure_acknowledgements_code'), ['code'], unique=False)


def downgrade():
    with op.batch_alter_table('procedure_acknowledgements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedure_acknowledgements_code'))

    op.drop_table('procedure_acknowledgements')
