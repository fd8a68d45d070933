"""survey forms are numbered per campaign: survey_responses.number, unique in its campaign, and a counter per campaign

Until now the "No." of a form was its row id, one series across every campaign (a project's second
survey started at 4,821). Each form now gets a number in its campaign: existing forms are numbered
1, 2, 3 … in each campaign in the order they were entered (their id order, voided forms included, so
a voided form keeps a number of its own), and each campaign's counter starts after its last form.
Nothing else changes: the id stays the form's identity in URLs, the API and the audit log, so no
record or reference is lost; only the number shown on the pages and exports is the new one.

Revision ID: 0018_survey_form_numbers
Revises: 0017_dashboard_index
"""
import sqlalchemy as sa
from alembic import op

revision = '0018_survey_form_numbers'
down_revision = '0017_dashboard_index'
branch_labels = None
depends_on = None

responses = sa.table('survey_responses', sa.column('id', sa.Integer()), sa.column('campaign_id', sa.Integer()),
                     sa.column('number', sa.Integer()))
sequences = sa.table('survey_form_sequences', sa.column('scope', sa.String()), sa.column('last_value', sa.Integer()))
#: Rows renumbered per UPDATE batch.
BATCH = 5000


def upgrade():
    op.create_table(
        'survey_form_sequences',
        sa.Column('scope', sa.String(length=40), nullable=False),
        sa.Column('last_value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('scope', name=op.f('pk_survey_form_sequences')),
    )
    # A plain ADD COLUMN with a literal default on every database: on SQLite, making a column NOT NULL
    # afterwards means rebuilding the table, which the answers' foreign keys to it forbid. The default
    # is dropped again where that is a plain ALTER (PostgreSQL); on SQLite it stays, unused (the app
    # always sets the number).
    op.add_column('survey_responses', sa.Column('number', sa.Integer(), nullable=False, server_default='0'))
    bind = op.get_bind()
    rows = bind.execute(sa.select(responses.c.id, responses.c.campaign_id)
                        .order_by(responses.c.campaign_id, responses.c.id)).all()
    last: dict[int, int] = {}
    updates = []
    for response_id, campaign_id in rows:
        last[campaign_id] = last.get(campaign_id, 0) + 1
        updates.append({"rid": response_id, "n": last[campaign_id]})
    change = responses.update().where(responses.c.id == sa.bindparam("rid")).values(number=sa.bindparam("n"))
    for start in range(0, len(updates), BATCH):
        bind.execute(change, updates[start:start + BATCH])
    if last:
        bind.execute(sequences.insert(), [{"scope": f"campaign-{cid}", "last_value": n} for cid, n in last.items()])
    if bind.dialect.name != 'sqlite':
        op.alter_column('survey_responses', 'number', server_default=None)
    op.create_index('uq_survey_responses_campaign_number', 'survey_responses', ['campaign_id', 'number'],
                    unique=True)


def downgrade():
    op.drop_index('uq_survey_responses_campaign_number', table_name='survey_responses')
    # SQLite ≥ 3.35 drops a column in place (no rebuild, so the answers' foreign keys are no obstacle).
    op.drop_column('survey_responses', 'number')
    op.drop_table('survey_form_sequences')
