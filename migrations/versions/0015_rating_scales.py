"""the owner survey's rating scale becomes a setting, and each campaign keeps the scale it was run with

Every existing campaign gets the scale its forms were entered on: ProcDesk's fixed 1–5 scale,
satisfied from the ``satisfied_min_rating`` setting in force (4 when never set), so no existing
figure changes. The old setting is replaced by ``rating_scale``: an installation that already has
campaigns keeps that same 1–5 scale for its next surveys until someone changes it on the settings
page; a new one starts with the company procedure's scale (the application default).

Revision ID: 0015_rating_scales
Revises: 0014_action_roles
"""
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import webapp.db

revision = '0015_rating_scales'
down_revision = '0014_action_roles'
branch_labels = None
depends_on = None

# Frozen copies (migrations do not follow later code): the 1–5 scale ProcDesk used up to this revision.
WORDS = [(5, "非常满意", "Very satisfied"), (4, "满意", "Satisfied"), (3, "一般", "Neutral"),
         (2, "不满意", "Dissatisfied"), (1, "非常不满意", "Very dissatisfied")]


def legacy_levels(min_rating: int) -> list[dict]:
    return [{"value": v, "name": n, "name_en": e, "satisfied": v >= min_rating} for v, n, e in WORDS]


LEGACY_JSON = json.dumps(legacy_levels(4))

settings = sa.table('settings', sa.column('key', sa.String()), sa.column('value', sa.JSON()),
                    sa.column('updated_at', webapp.db.UTCDateTime()), sa.column('updated_by_id', sa.Integer()))
campaigns = sa.table('survey_campaigns', sa.column('id', sa.Integer()), sa.column('rating_scale', sa.JSON()))


def _min_rating(bind) -> int:
    value = bind.execute(sa.select(settings.c.value).where(settings.c.key == 'satisfied_min_rating')).scalar()
    return int(value) if isinstance(value, int | float) and 1 <= value <= 5 else 4


def upgrade():
    bind = op.get_bind()
    min_rating = _min_rating(bind)
    # A plain ADD COLUMN on every database (a literal default needs no table rebuild on SQLite, which
    # would trip over the forms' foreign keys): existing rows get the default, the 1–5 scale.
    op.add_column('survey_campaigns', sa.Column('rating_scale', sa.JSON(), server_default=LEGACY_JSON,
                                                nullable=False))
    levels = legacy_levels(min_rating)
    if min_rating != 4:  # the column default is the 1–5 scale satisfied from 4
        op.execute(campaigns.update().values(rating_scale=levels))
    in_use = bind.execute(sa.select(sa.func.count()).select_from(campaigns)).scalar()
    op.execute(settings.delete().where(settings.c.key.in_(['satisfied_min_rating', 'rating_scale'])))
    if in_use:
        op.execute(settings.insert().values(key='rating_scale', value=levels, updated_at=datetime.now(UTC),
                                            updated_by_id=None))


def downgrade():
    bind = op.get_bind()
    stored = bind.execute(sa.select(settings.c.value).where(settings.c.key == 'rating_scale')).scalar()
    op.execute(settings.delete().where(settings.c.key.in_(['satisfied_min_rating', 'rating_scale'])))
    satisfied = [x.get('value') for x in stored or [] if isinstance(x, dict) and x.get('satisfied')]
    if satisfied and all(isinstance(v, int) and 1 <= v <= 5 for v in satisfied):
        op.execute(settings.insert().values(key='satisfied_min_rating', value=min(satisfied),
                                            updated_at=datetime.now(UTC), updated_by_id=None))
    if bind.dialect.name == 'sqlite':  # SQLite 3.35+ drops a column in place; a batch rebuild would trip
        op.execute('ALTER TABLE survey_campaigns DROP COLUMN rating_scale')  # over the forms' foreign keys
    else:
        op.drop_column('survey_campaigns', 'rating_scale')
