"""procedure reviews: last review date and first effective date of a procedure, review signatures of a version

Revision ID: 0011_procedure_reviews
Revises: 0010_store_problems
"""
import sqlalchemy as sa
from alembic import op

revision = '0011_procedure_reviews'
down_revision = '0010_store_problems'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('procedures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_reviewed', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('first_effective', sa.Date(), nullable=True))
    with op.batch_alter_table('procedure_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signatures', sa.JSON(), nullable=True))

    versions = sa.table('procedure_versions', sa.column('procedure_id', sa.Integer()), sa.column('seq', sa.Integer()),
                        sa.column('effective', sa.Date()), sa.column('signatures', sa.JSON()))
    procedures = sa.table('procedures', sa.column('id', sa.Integer()), sa.column('first_effective', sa.Date()))
    op.execute(versions.update().values(signatures=[]))
    first = (sa.select(versions.c.effective).where(versions.c.procedure_id == procedures.c.id)
             .order_by(versions.c.seq).limit(1).scalar_subquery())
    op.execute(procedures.update().values(first_effective=first))
    with op.batch_alter_table('procedure_versions', schema=None) as batch_op:
        batch_op.alter_column('signatures', existing_type=sa.JSON(), nullable=False)

    # The next review date now counts from the last review (or the first effective date), and the
    # signatures come from the commits: forgetting the synced head makes the next sync a rebuild,
    # which recomputes both from git (last_reviewed, which git does not hold, is kept).
    store_state = sa.table('store_state', sa.column('key', sa.String()))
    op.execute(store_state.delete().where(store_state.c.key.in_(['main.head', 'main.length'])))


def downgrade():
    with op.batch_alter_table('procedure_versions', schema=None) as batch_op:
        batch_op.drop_column('signatures')
    with op.batch_alter_table('procedures', schema=None) as batch_op:
        batch_op.drop_column('first_effective')
        batch_op.drop_column('last_reviewed')
