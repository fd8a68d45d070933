"""corrective actions worked by the right people: who planned, took, closed each action; the effectiveness
check's re-measurement; the complainant's feedback; the source's reference; proposed actions; and the
managers' new permission (actions.manage)

Revision ID: 0014_action_roles
Revises: 0013_review_workflow
"""
import sqlalchemy as sa
from alembic import op

import webapp.db

revision = '0014_action_roles'
down_revision = '0013_review_workflow'
branch_labels = None
depends_on = None

#: Built-in roles that plan, approve and close actions (webapp.permissions: admin has every permission).
MANAGING_ROLES = ('admin', 'manager')
PERMISSION = 'actions.manage'
#: Audit action -> the column that names who did it (filled for the actions already on file).
WHO = {'action.analyse': 'analysed_by_id', 'action.take_action': 'action_taken_by_id',
       'action.close': 'closed_by_id'}


def upgrade():
    op.create_table('action_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('source_type', sa.String(length=30), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('source_ref', sa.String(length=300), nullable=True),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', webapp.db.UTCDateTime(), nullable=True),
    sa.Column('action_id', sa.Integer(), nullable=True),
    sa.Column('created_at', webapp.db.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['corrective_actions.id'],
                            name=op.f('fk_action_proposals_action_id_corrective_actions')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_action_proposals_decided_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_action_proposals_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_proposals')),
    sa.UniqueConstraint('key', name=op.f('uq_action_proposals_key'))
    )
    with op.batch_alter_table('action_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_proposals_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_proposals_status'), ['status'], unique=False)

    with op.batch_alter_table('corrective_actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_ref', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('analysed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('action_taken_by_id', sa.Integer(), nullable=True))
        # Rows already on file get empty texts; the model has no server default, so it is dropped below.
        batch_op.add_column(sa.Column('remeasured', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('closed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('complainant_feedback', sa.Text(), nullable=False, server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_corrective_actions_analysed_by_id_users'), 'users',
                                    ['analysed_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_corrective_actions_action_taken_by_id_users'), 'users',
                                    ['action_taken_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_corrective_actions_closed_by_id_users'), 'users',
                                    ['closed_by_id'], ['id'])
    with op.batch_alter_table('corrective_actions', schema=None) as batch_op:
        batch_op.alter_column('remeasured', server_default=None)
        batch_op.alter_column('complainant_feedback', server_default=None)

    conn = op.get_bind()
    # Who planned, took and closed the actions already on file, from their audit entries (the latest of
    # each kind): so that whoever took an action cannot verify it after the upgrade either.
    for event, column in WHO.items():
        rows = conn.execute(sa.text(
            "SELECT object_id, actor_id FROM audit_entries WHERE object_type = 'corrective_actions' "
            "AND action = :event AND actor_id IS NOT NULL ORDER BY id"), {"event": event}).all()
        latest = {int(object_id): actor_id for object_id, actor_id in rows if str(object_id).isdigit()}
        for action_id, actor_id in latest.items():
            conn.execute(sa.text(f"UPDATE corrective_actions SET {column} = :actor WHERE id = :id"),
                         {"actor": actor_id, "id": action_id})
    _grant(conn, add=True)


def downgrade():
    _grant(op.get_bind(), add=False)
    with op.batch_alter_table('corrective_actions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_corrective_actions_closed_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_corrective_actions_action_taken_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_corrective_actions_analysed_by_id_users'), type_='foreignkey')
        batch_op.drop_column('complainant_feedback')
        batch_op.drop_column('closed_by_id')
        batch_op.drop_column('remeasured')
        batch_op.drop_column('action_taken_by_id')
        batch_op.drop_column('analysed_by_id')
        batch_op.drop_column('source_ref')

    with op.batch_alter_table('action_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_proposals_status'))
        batch_op.drop_index(batch_op.f('ix_action_proposals_project_id'))

    op.drop_table('action_proposals')


def _grant(conn, *, add: bool) -> None:
    """Give (or take back) the managing roles' new permission; a role an administrator edited keeps the rest."""
    roles = sa.table('roles', sa.column('id', sa.Integer()), sa.column('code', sa.String()),
                     sa.column('permissions', sa.JSON()))
    for role_id, permissions in conn.execute(sa.select(roles.c.id, roles.c.permissions)
                                             .where(roles.c.code.in_(MANAGING_ROLES))).all():
        granted = [p for p in (permissions or []) if p != PERMISSION] + ([PERMISSION] if add else [])
        if granted != list(permissions or []):
            conn.execute(roles.update().where(roles.c.id == role_id).values(permissions=granted))
