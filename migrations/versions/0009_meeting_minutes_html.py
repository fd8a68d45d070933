"""meeting minutes rendered once when saved

Adds ``meetings.minutes_html``, the sanitised HTML of the minutes, and fills it for the
meetings already recorded with the same function the service uses when it saves them
(``procedures.rendering.render``), so pages show stored HTML and never render Markdown.
Minutes saved before the rendering limits existed and beyond them (e.g. a run of 20,000
"[") are kept as escaped plain text, which is how they will show until someone edits them.

Revision ID: 0009_meeting_minutes_html
Revises: 0008_audit_keyed_chain
"""
import html

import sqlalchemy as sa
from alembic import op

revision = '0009_meeting_minutes_html'
down_revision = '0008_audit_keyed_chain'
branch_labels = None
depends_on = None


def minutes_html(minutes: str) -> str:
    """What the service stores for ``minutes``; escaped text when they are beyond the rendering limits."""
    from procedures.rendering import Unrenderable, render

    if not (minutes or "").strip():
        return ""
    try:
        return str(render(minutes).html)
    except Unrenderable:
        return "<pre>" + html.escape(minutes, quote=False) + "</pre>"


def upgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('minutes_html', sa.Text(), server_default='', nullable=False))

    meetings = sa.table('meetings', sa.column('id', sa.Integer), sa.column('minutes', sa.Text),
                        sa.column('minutes_html', sa.Text))
    bind = op.get_bind()
    ids = bind.execute(sa.select(meetings.c.id).where(meetings.c.minutes != '').order_by(meetings.c.id)).scalars()
    for meeting_id in list(ids):
        minutes = bind.execute(sa.select(meetings.c.minutes).where(meetings.c.id == meeting_id)).scalar_one()
        bind.execute(meetings.update().where(meetings.c.id == meeting_id)
                     .values(minutes_html=minutes_html(minutes)))


def downgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_column('minutes_html')
