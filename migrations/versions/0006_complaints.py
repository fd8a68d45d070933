"""complaints: the complaint & praise register, its timeline and number counters

Revision ID: 0006_complaints
Revises: 0005_surveys
"""
import sqlalchemy as sa
from alembic import op

import webapp.db

revision = '0006_complaints'
down_revision = '0005_surveys'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'complaints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('channel', sa.String(length=12), nullable=False),
        sa.Column('received_at', webapp.db.UTCDateTime(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('building', sa.String(length=40), nullable=False),
        sa.Column('room', sa.String(length=40), nullable=False),
        sa.Column('contact_name', sa.String(length=60), nullable=False),
        sa.Column('contact_phone', sa.String(length=40), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('severity', sa.String(length=10), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('handler_id', sa.Integer(), nullable=True),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('respond_due', webapp.db.UTCDateTime(), nullable=True),
        sa.Column('resolve_due', webapp.db.UTCDateTime(), nullable=True),
        sa.Column('acknowledged_at', webapp.db.UTCDateTime(), nullable=True),
        sa.Column('resolved_at', webapp.db.UTCDateTime(), nullable=True),
        sa.Column('cause', sa.Text(), nullable=False),
        sa.Column('action_taken', sa.Text(), nullable=False),
        sa.Column('followed_up_at', webapp.db.UTCDateTime(), nullable=True),
        sa.Column('followed_up_by_id', sa.Integer(), nullable=True),
        sa.Column('feedback_given', sa.Text(), nullable=False),
        sa.Column('handling_satisfaction', sa.String(length=12), nullable=True),
        sa.Column('follow_up_notes', sa.Text(), nullable=False),
        sa.Column('closed_at', webapp.db.UTCDateTime(), nullable=True),
        sa.Column('reopen_count', sa.Integer(), nullable=False),
        sa.Column('source_type', sa.String(length=30), nullable=True),
        sa.Column('source_id', sa.Integer(), nullable=True),
        sa.Column('review_procedure_code', sa.String(length=40), nullable=True),
        sa.Column('review_requested_by_id', sa.Integer(), nullable=True),
        sa.Column('review_requested_at', webapp.db.UTCDateTime(), nullable=True),
        sa.Column('action_id', sa.Integer(), nullable=True),
        sa.Column('created_at', webapp.db.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', webapp.db.UTCDateTime(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('voided_at', webapp.db.UTCDateTime(), nullable=True),
        sa.Column('voided_by_id', sa.Integer(), nullable=True),
        sa.Column('void_reason', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['category_id'], ['service_categories.id'],
                                name=op.f('fk_complaints_category_id_service_categories')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_complaints_created_by_id_users')),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_complaints_department_id_departments')),
        sa.ForeignKeyConstraint(['followed_up_by_id'], ['users.id'],
                                name=op.f('fk_complaints_followed_up_by_id_users')),
        sa.ForeignKeyConstraint(['handler_id'], ['users.id'], name=op.f('fk_complaints_handler_id_users')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_complaints_project_id_projects')),
        sa.ForeignKeyConstraint(['review_requested_by_id'], ['users.id'],
                                name=op.f('fk_complaints_review_requested_by_id_users')),
        sa.ForeignKeyConstraint(['voided_by_id'], ['users.id'], name=op.f('fk_complaints_voided_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints')),
        sa.UniqueConstraint('number', name=op.f('uq_complaints_number')),
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index('ix_complaints_handler_status', ['handler_id', 'status'], unique=False)
        batch_op.create_index('ix_complaints_project_received', ['project_id', 'received_at', 'id'], unique=False)
        batch_op.create_index('ix_complaints_received_at', ['received_at', 'id'], unique=False)
        batch_op.create_index('ix_complaints_status_received', ['status', 'received_at'], unique=False)

    op.create_table(
        'complaint_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('at', webapp.db.UTCDateTime(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=24), nullable=False),
        sa.Column('from_status', sa.String(length=16), nullable=True),
        sa.Column('to_status', sa.String(length=16), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_complaint_events_actor_id_users')),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'],
                                name=op.f('fk_complaint_events_complaint_id_complaints')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_events')),
    )
    with op.batch_alter_table('complaint_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_events_complaint_id'), ['complaint_id'], unique=False)

    op.create_table(
        'complaint_sequences',
        sa.Column('scope', sa.String(length=40), nullable=False),
        sa.Column('last_value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('scope', name=op.f('pk_complaint_sequences')),
    )


def downgrade():
    op.drop_table('complaint_sequences')
    with op.batch_alter_table('complaint_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_events_complaint_id'))
    op.drop_table('complaint_events')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_complaints_status_received')
        batch_op.drop_index('ix_complaints_received_at')
        batch_op.drop_index('ix_complaints_project_received')
        batch_op.drop_index('ix_complaints_handler_status')
    op.drop_table('complaints')
