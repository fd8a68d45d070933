"""audit chain keyed with a secret, covering every column; git commit link

Adds ``audit_entries.git_commit`` (unique: the commit on main an entry accounts for),
fills it for the publish entries that already name their commit, and re-chains every
entry under the keyed scheme (HMAC-SHA256 with ``AUDIT_KEY`` over every column).

The old, unkeyed chain is verified first: a log that is already broken is refused,
because re-chaining it would seal the damage as if it were genuine.

The hash functions are frozen copies of ``audit.service`` as of this revision, so this
migration keeps producing the same chain if the service moves on.

Revision ID: 0008_audit_keyed_chain
Revises: 0007_meetings_caring_actions
"""
import hashlib
import hmac
import json
import re
from datetime import UTC

import sqlalchemy as sa
from alembic import op

import webapp.db

revision = '0008_audit_keyed_chain'
down_revision = '0007_meetings_caring_actions'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
SCHEME = "procdesk-audit/2"
HASHED_COLUMNS = ("id", "at", "actor_id", "actor_login", "action", "object_type", "object_id", "before",
                  "after", "reason", "git_commit", "prev_hash")
#: Entries written by publishing (and import) that name the commit they made.
COMMIT_ACTIONS = ("procedure.created", "procedure.published", "procedure.withdrawn", "procedure.imported")
BATCH = 1000
_SHA40 = re.compile(r"\A[0-9a-f]{40}\Z")


def audit_table(with_commit: bool):
    """``audit_entries`` as this revision sees it (with ``git_commit`` or not); its test inserts old rows with it."""
    columns = [
        sa.column("id", sa.Integer), sa.column("at", webapp.db.UTCDateTime()), sa.column("actor_id", sa.Integer),
        sa.column("actor_login", sa.String), sa.column("action", sa.String), sa.column("object_type", sa.String),
        sa.column("object_id", sa.String), sa.column("before", sa.JSON), sa.column("after", sa.JSON),
        sa.column("reason", sa.Text), sa.column("prev_hash", sa.String), sa.column("hash", sa.String),
    ]
    if with_commit:
        columns.append(sa.column("git_commit", sa.String))
    return sa.table("audit_entries", *columns)


def _rows(conn, table):
    last = 0
    while True:
        rows = conn.execute(sa.select(table).where(table.c.id > last).order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def _at(at):
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def legacy_hash(row, prev_hash):
    """An entry's hash under the old, unkeyed scheme; its test builds a chain as the old code wrote it."""
    payload = json.dumps(
        [prev_hash, _at(row.at), row.actor_id, row.action, row.object_type, str(row.object_id), row.before,
         row.after, row.reason or ""],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def _keyed_hash(key, row, prev_hash, git_commit):
    values = {name: getattr(row, name, None) for name in HASHED_COLUMNS}
    values.update(at=_at(row.at), prev_hash=prev_hash, git_commit=git_commit)
    payload = json.dumps([SCHEME, values], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, payload.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def _key():
    from flask import current_app

    try:
        key = str(current_app.config.get("AUDIT_KEY") or "").strip()
    except RuntimeError:  # plain alembic, no Flask app
        raise RuntimeError("run this migration with `flask db upgrade`: it needs the app's AUDIT_KEY") from None
    if len(key) < 16:
        raise RuntimeError("AUDIT_KEY (or instance/audit_key) is missing or shorter than 16 characters")
    return key.encode("utf-8")


def _refuse(entry_id, what, scheme):
    raise RuntimeError(
        f"The audit log is already broken at entry {entry_id} ({what}) under the {scheme} scheme. Refusing to "
        "re-chain it: that would seal the damage as if it were genuine. Investigate first (e.g. restore the "
        "database from a backup taken before the damage), then run the migration again.")


def _update(conn, table, changes):
    if changes:
        conn.execute(table.update().where(table.c.id == sa.bindparam("_id"))
                     .values(prev_hash=sa.bindparam("_prev"), hash=sa.bindparam("_hash"),
                             **({"git_commit": sa.bindparam("_commit")} if "_commit" in changes[0] else {})),
                     changes)


def upgrade():
    conn = op.get_bind()
    key = _key()
    old = audit_table(with_commit=False)
    prev = GENESIS
    for row in _rows(conn, old):
        if row.prev_hash != prev:
            _refuse(row.id, "link", "unkeyed")
        if legacy_hash(row, row.prev_hash) != row.hash:
            _refuse(row.id, "content", "unkeyed")
        prev = row.hash

    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('git_commit', sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_audit_entries_git_commit'), ['git_commit'])

    new = audit_table(with_commit=True)
    claimed = set()
    prev = GENESIS
    changes = []
    for row in _rows(conn, new):
        commit = None
        after = row.after if isinstance(row.after, dict) else {}
        sha = after.get("commit")
        if row.action in COMMIT_ACTIONS and isinstance(sha, str) and _SHA40.match(sha) and sha not in claimed:
            commit = sha
            claimed.add(sha)
        digest = _keyed_hash(key, row, prev, commit)
        changes.append({"_id": row.id, "_prev": prev, "_hash": digest, "_commit": commit})
        prev = digest
        if len(changes) >= BATCH:
            _update(conn, new, changes)
            changes = []
    _update(conn, new, changes)


def downgrade():
    conn = op.get_bind()
    key = _key()
    new = audit_table(with_commit=True)
    prev = GENESIS
    for row in _rows(conn, new):
        if row.prev_hash != prev:
            _refuse(row.id, "link", "keyed")
        if not hmac.compare_digest(_keyed_hash(key, row, row.prev_hash, row.git_commit), row.hash):
            _refuse(row.id, "content", "keyed")
        prev = row.hash

    prev = GENESIS
    changes = []
    for row in _rows(conn, new):
        digest = legacy_hash(row, prev)
        changes.append({"_id": row.id, "_prev": prev, "_hash": digest})
        prev = digest
        if len(changes) >= BATCH:
            _update(conn, new, changes)
            changes = []
    _update(conn, new, changes)

    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_entries_git_commit'), type_='unique')
        batch_op.drop_column('git_commit')
