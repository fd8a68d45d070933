"""The audit trail proves what it claims (issue 8, items 7 and 8).

Item 7: every column is sealed by a keyed hash (HMAC-SHA256, key outside the database),
the chain's head is anchored in the git store (not on ``main``), and ``flask audit
verify`` names each tampering: an edited column (actor_login too), a broken link,
entries deleted in the middle or at the end, and a chain recomputed without the key.

Item 8: every commit on ``main`` has exactly one audit entry — a publish that dies
after its git commit, or a plain ``git push``, gets one from the next sync, written from
git (author, summary, files) — and verify checks the invariant.
"""
from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import os
import stat
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import delete, func, select, update

import repo_store
from audit import service as audit
from audit.models import GENESIS_HASH, AuditEntry
from procedures import catalog, trailers
from procedures import document as document_mod
from procedures.publishing import service as publishing
from tests.conftest import make_app
from tests.factories_publishing import BODY, procedure_text, seed_procedure, self_approval, user
from webapp.extensions import db
from webapp.store import get_store

CODE = "QP-CS-001"
PUSHER = repo_store.Signature("Mallory Ma", "mallory@example.com")


@pytest.fixture
def controller(logged_in, make_department):
    make_department("CS")
    return logged_in("controller", department="CS", display_name="文控 周敏")


def _seed(app, n=6):
    """``n`` entries; returns their ids."""
    with app.app_context():
        for i in range(n):
            audit.record("test.event", None, object_type="thing", object_id=i, after={"n": i}, reason=f"r{i}")
        db.session.commit()
        return _ids()


def _ids():
    return list(db.session.execute(select(AuditEntry.id).order_by(AuditEntry.id)).scalars())


def _verify(app, **kw):
    with app.app_context():
        return audit.verify(**kw)


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def _kinds(result):
    return [p.kind for p in result.problems]


def _tamper(app, *statements):
    with app.app_context():
        for stmt in statements:
            db.session.execute(stmt)
        db.session.commit()


# ---------------------------------------------------------------------------
# item 7: the hash covers every column and needs the key
# ---------------------------------------------------------------------------


def test_the_keyed_hash_covers_every_column(app):
    columns = set(AuditEntry.__table__.columns.keys())
    assert set(audit.HASHED_COLUMNS) == columns - {"hash"}
    with app.app_context():
        audit.record("test.event", None, object_type="thing", object_id=1, after={"a": 1}, reason="why")
        db.session.commit()
        entry = db.session.execute(select(AuditEntry)).scalars().first()
        key = audit.audit_key()
        sealed = audit.chain_hash(key, entry)
        assert sealed == entry.hash
        changed = {"id": entry.id + 1000, "at": entry.at + timedelta(microseconds=1), "actor_id": 99,
                   "actor_login": "someone-else", "action": "test.other", "object_type": "other", "object_id": "2",
                   "before": {"x": 1}, "after": {"a": 2}, "reason": "because", "git_commit": "a" * 40,
                   "prev_hash": "f" * 64}
        assert set(changed) == set(audit.HASHED_COLUMNS)
        for name, value in changed.items():
            original = getattr(entry, name)
            setattr(entry, name, value)
            assert audit.chain_hash(key, entry) != sealed, name
            setattr(entry, name, original)
        assert audit.chain_hash(b"another key of enough length", entry) != sealed
        db.session.rollback()


def test_untampered_chain_verifies_in_batches(app):
    _seed(app, 7)
    for batch in (2, 3, 2000):
        result = _verify(app, batch=batch)
        assert result.ok and result.checked == result.total >= 7 and not result.problems
    r = _cli(app, "audit", "verify")
    assert r.exit_code == 0 and "intact" in r.output
    # Not anchored yet: said so (truncation cannot be seen without an anchor), but not an error.
    assert "flask audit anchor" in r.output


@pytest.mark.parametrize("column, value", [
    ("actor_login", "admin"), ("action", "test.forged"), ("object_type", "other"), ("object_id", "99"),
    ("reason", "edited"), ("after", {"n": 1000}), ("before", {"n": -1}), ("git_commit", "b" * 40),
    ("at", "shifted"), ("actor_id", "user"),
])
def test_an_edited_column_is_detected(app, make_user, column, value):
    ids = _seed(app, 5)
    victim = ids[2]
    with app.app_context():
        if value == "shifted":
            value = db.session.get(AuditEntry, victim).at - timedelta(days=3)
        elif value == "user":
            value = make_user("innocent") or db.session.scalar(select(func.max(AuditEntry.actor_id)))
    _tamper(app, update(AuditEntry).where(AuditEntry.id == victim).values(**{column: value}))
    for batch in (2, 2000):
        result = _verify(app, batch=batch)
        assert not result.ok and result.broken_id == victim and result.problem == "content", (column, result)
        # (a made-up commit is also reported as not on main)
        assert _kinds(result) == (["content", "stray_commit"] if column == "git_commit" else ["content"])
        assert result.checked == ids.index(victim)
    r = _cli(app, "audit", "verify")
    assert r.exit_code == 1
    assert f"entry {victim}" in r.output and "[content]" in r.output and "no longer matches its keyed hash" in r.output


def test_a_broken_link_is_detected(app):
    ids = _seed(app, 5)
    _tamper(app, update(AuditEntry).where(AuditEntry.id == ids[2]).values(prev_hash="e" * 64))
    result = _verify(app)
    assert not result.ok and result.broken_id == ids[2] and _kinds(result) == ["link"]
    r = _cli(app, "audit", "verify")
    assert r.exit_code == 1 and "[link]" in r.output and f"Entry {ids[2]} does not follow" in r.output


def test_an_overwritten_hash_is_a_broken_link(app):
    ids = _seed(app, 5)
    _tamper(app, update(AuditEntry).where(AuditEntry.id == ids[1]).values(hash="d" * 64))
    result = _verify(app)
    assert not result.ok and result.broken_id == ids[1] and _kinds(result) == ["link"]


def test_entries_deleted_in_the_middle_are_detected(app):
    ids = _seed(app, 6)
    _tamper(app, delete(AuditEntry).where(AuditEntry.id.in_(ids[2:4])))
    result = _verify(app)
    assert not result.ok and result.broken_id == ids[4] and _kinds(result) == ["missing"]
    assert result.problems[0].last_id == ids[1]
    r = _cli(app, "audit", "verify")
    assert r.exit_code == 1 and f"Entries were deleted between entry {ids[1]} and entry {ids[4]}" in r.output


def test_the_first_entries_deleted_are_detected(app):
    ids = _seed(app, 4)
    _tamper(app, delete(AuditEntry).where(AuditEntry.id == ids[0]))
    result = _verify(app)
    assert not result.ok and _kinds(result) == ["missing"] and result.broken_id == ids[1]


def _rehash(app, from_id, key=None, unkeyed=False, edit=None):
    """What an attacker with database access does: edit, then recompute every later hash (without our key)."""
    with app.app_context():
        entries = list(db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
        prev = GENESIS_HASH
        for e in entries:
            if e.id >= from_id:
                if e.id == from_id and edit:
                    edit(e)
                e.prev_hash = prev
                e.hash = (hashlib.sha256(audit.canonical(e)).hexdigest() if unkeyed
                          else hmac.new(key, audit.canonical(e), hashlib.sha256).hexdigest())
                db.session.flush()
            prev = e.hash
        db.session.commit()


def test_a_chain_recomputed_without_the_key_is_detected(app):
    ids = _seed(app, 6)

    def edit(e):
        e.actor_login, e.reason = "admin", "nothing to see"

    _rehash(app, ids[2], key=b"the attacker's own key, not ours", edit=edit)
    result = _verify(app, batch=2)
    assert not result.ok and result.broken_id == ids[2] and _kinds(result) == ["forged"]
    problem = result.problems[0]
    assert (problem.entry_id, problem.last_id, problem.count) == (ids[2], ids[-1], len(ids) - 2)
    r = _cli(app, "audit", "verify")
    assert r.exit_code == 1 and "[forged]" in r.output and "recomputed without the key" in r.output


def test_a_last_entry_rehashed_with_plain_sha256_is_detected(app):
    ids = _seed(app, 4)
    _rehash(app, ids[-1], unkeyed=True, edit=lambda e: setattr(e, "actor_login", "admin"))
    result = _verify(app)
    assert not result.ok and _kinds(result) == ["forged"] and result.broken_id == ids[-1]


def test_a_wrong_audit_key_is_named(app, tmp_path, database_url):
    _seed(app, 3)
    other = make_app(tmp_path, database_url, AUDIT_KEY="a different key, 32 characters!")
    try:
        result = _verify(other)
        assert not result.ok and _kinds(result) == ["forged"] and result.problems[0].detail == "all"
        r = _cli(other, "audit", "verify")
        assert r.exit_code == 1 and "AUDIT_KEY is not the key the log was written with" in r.output
    finally:
        with other.app_context():
            db.engine.dispose()


# ---------------------------------------------------------------------------
# item 7: the anchor in the git store
# ---------------------------------------------------------------------------


def test_truncation_is_detected_against_the_anchor(app):
    ids = _seed(app, 6)
    r = _cli(app, "audit", "anchor")
    assert r.exit_code == 0 and f"anchored entry {ids[-1]}" in r.output
    _tamper(app, delete(AuditEntry).where(AuditEntry.id.in_(ids[-2:])))
    result = _verify(app)
    assert not result.ok and _kinds(result) == ["truncated"]
    problem = result.problems[0]
    assert (problem.entry_id, problem.count, problem.left) == (ids[-1], len(ids), len(ids) - 2)
    r = _cli(app, "audit", "verify")
    assert r.exit_code == 1 and "[truncated]" in r.output and "deleted at the end" in r.output
    assert f"entry {ids[-1]} is gone and {len(ids) - 2} of the {len(ids)} entries anchored are left" in r.output
    # New entries after the truncation do not hide it (SQLite even reuses the deleted ids).
    _seed(app, 1)
    result = _verify(app)
    assert not result.ok and "truncated" in _kinds(result)


def test_a_chain_recomputed_with_the_key_is_caught_by_the_anchor(app):
    ids = _seed(app, 5)
    assert _cli(app, "audit", "anchor").exit_code == 0
    with app.app_context():
        key = audit.audit_key()
    # Even an attacker who stole the key cannot rewrite what was anchored outside the database.
    _rehash(app, ids[1], key=key, edit=lambda e: setattr(e, "actor_login", "admin"))
    result = _verify(app)
    assert not result.ok and _kinds(result) == ["anchor"] and result.problems[0].entry_id == ids[-1]
    # …and the next anchor refuses to cover it up.
    r = _cli(app, "audit", "anchor")
    assert r.exit_code != 0 and "no longer contains entry" in r.output


def test_anchor_refuses_a_truncated_chain_unless_forced(app):
    ids = _seed(app, 4)
    assert _cli(app, "audit", "anchor").exit_code == 0
    _tamper(app, delete(AuditEntry).where(AuditEntry.id == ids[-1]))
    r = _cli(app, "audit", "anchor")
    assert r.exit_code != 0 and "--force" in r.output
    # After restoring an older backup on purpose: forced, and the old anchor stays in the history.
    r = _cli(app, "audit", "anchor", "--force")
    assert r.exit_code == 0, r.output
    with app.app_context():
        store = get_store()
        history = store.history(rev=audit.ANCHOR_BRANCH)
        assert len(history) == 2 and "forced" in history[0].summary
        assert history[0].trailer("Replaces-Anchor").startswith(f"{ids[-1]} ")
    assert _verify(app).ok


def test_anchor_is_a_compare_and_swap_on_its_own_branch(app, monkeypatch):
    _seed(app, 3)
    with app.app_context():
        store = get_store()
        first = audit.anchor()
        assert first is not None and store.head(audit.ANCHOR_BRANCH) == first.commit
        assert audit.anchor().commit == first.commit  # nothing new: no new commit
        audit.record("test.event", None, object_type="thing", object_id="x")
        db.session.commit()
        # Another worker anchors between our read and our write: our CAS loses, we look again.
        real_commit = store.commit
        raced = []

        def racing_commit(changes, **kw):
            if not raced:
                raced.append(real_commit({audit.ANCHOR_FILE: "{\"other\": 1}\n"}, summary="other worker",
                                         author=repo_store.Signature("w", "w@example.com"), base=kw["base"],
                                         branch=kw["branch"]))
                with pytest.raises(repo_store.Conflict):
                    real_commit(changes, **kw)
                raise repo_store.Conflict()
            return real_commit(changes, **kw)

        monkeypatch.setattr(store, "commit", racing_commit)
        second = audit.anchor(force=True)  # the other worker's file is not an anchor: force reads past it
        monkeypatch.undo()
        assert raced and second.entry_id == _ids()[-1]
        chain = store.history(rev=audit.ANCHOR_BRANCH, first_parent=True)
        assert [c.sha for c in chain[:3]] == [second.commit, raced[0], first.commit]
        # main is untouched: procedures only.
        assert store.head("main") is None


def test_every_publish_anchors_the_head_and_main_stays_procedures_only(app, controller):
    seed_procedure(app)
    with app.app_context():
        store = get_store()
        last = db.session.execute(select(AuditEntry).order_by(AuditEntry.id.desc())).scalars().first()
        anchored = audit.read_anchor()
        assert anchored is not None and (anchored.entry_id, anchored.hash) == (last.id, last.hash)
        assert anchored.main == store.head("main")
        assert [p for p, _b in store.list_files("main")] == [f"{CODE}.md"]
        base = store.head()
        with self_approval(app):
            publishing.publish(CODE, procedure_text(body=BODY + "\n4.3 新条款\n"), summary="加条款", base=base,
                               author=user("controller"), approved_by=None)
        newer = audit.read_anchor()
        assert newer.entry_id > anchored.entry_id
        assert len(store.history(rev=audit.ANCHOR_BRANCH)) == 2
        assert [p for p, _b in store.list_files("main")] == [f"{CODE}.md"]
    result = _verify(app)
    assert result.ok and not result.warnings, result


def test_the_audit_page_names_each_problem(app, logged_in):
    client = logged_in("admin")
    ids = _seed(app, 4)
    assert _cli(app, "audit", "anchor").exit_code == 0
    _tamper(app, update(AuditEntry).where(AuditEntry.id == ids[1]).values(actor_login="admin"),
            delete(AuditEntry).where(AuditEntry.id == ids[-1]))
    page = client.post("/audit/verify").get_data(as_text=True)
    assert 'data-testid="audit-broken"' in page
    assert 'data-kind="content"' in page and 'data-kind="truncated"' in page
    assert 'data-testid="audit-anchor"' in page


# ---------------------------------------------------------------------------
# item 8: every commit on main has exactly one audit entry
# ---------------------------------------------------------------------------


def _entries_for(sha):
    return list(db.session.execute(select(AuditEntry).where(AuditEntry.git_commit == sha)).scalars())


def _commit_like_publishing(app, body_extra="\n4.3 断电前写入\n"):
    """What ``publishing.publish`` writes to git, without anything after (the process dies here)."""
    with app.app_context():
        store = get_store()
        text = procedure_text(version="A/1", body=BODY + body_extra)
        doc = document_mod.parse(text)
        subject, body, trailer_list = trailers.build_message(doc, "断电前的修改", approved_by=None)
        return store.commit({doc.path: text}, summary=subject, body=body, trailers=trailer_list,
                            author=publishing.signature_for(user("controller")), base=store.head())


def test_a_publish_is_one_entry_linked_to_its_commit(app, controller):
    sha = seed_procedure(app)
    with app.app_context():
        entries = _entries_for(sha)
        assert [e.action for e in entries] == ["procedure.created"]
        assert entries[0].after["commit"] == sha
        catalog.sync(rebuild=True, commit=True)  # walks every commit again: adds nothing
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == audit.GIT_ACTION)) == 0
    assert _verify(app).ok


def test_a_crash_after_the_git_commit_is_recorded_by_the_next_sync(app, controller, monkeypatch):
    seed_procedure(app)
    sha = _commit_like_publishing(app)
    # Right after: verify says a recent commit has no entry yet (a publish may still be writing it).
    result = _verify(app)
    assert result.ok and [w.kind for w in result.warnings] == ["pending_commit"]
    with app.app_context():
        catalog.sync(commit=True)  # too recent: left to the publish that may still be writing it
        assert _entries_for(sha) == []
    # Once it is clearly not in flight any more it is unaudited, and the daily anchor records it.
    monkeypatch.setattr(audit, "IN_FLIGHT_SECONDS", 0)
    result = _verify(app)
    assert not result.ok and _kinds(result) == ["unaudited_commit"] and result.problems[0].commit == sha
    r = _cli(app, "audit", "verify")
    assert r.exit_code == 1 and f"Commit {sha[:12]} on main" in r.output
    r = _cli(app, "audit", "anchor")
    assert r.exit_code == 0 and f"recorded commit {sha[:12]}" in r.output
    # Another crash: the next sync records it.
    second = _commit_like_publishing(app, "\n4.4 再一次\n")
    with app.app_context():
        catalog.sync(commit=True)
        for crashed in (sha, second):
            [entry] = _entries_for(crashed)
            assert entry.action == audit.GIT_ACTION and entry.actor_id is None
            assert entry.actor_login == publishing.signature_for(user("controller")).email
            assert entry.after["source"] == "git" and entry.after["commit"] == crashed
            assert entry.after["files"] == [{"status": "M", "path": f"{CODE}.md"}]
            assert ["Version", "A/1"] in entry.after["trailers"]
    result = _verify(app)
    assert result.ok and not result.warnings, result


def test_a_plain_git_push_gets_an_entry_naming_its_author(app, controller, tmp_path):
    seed_procedure(app)
    work = tmp_path / "work"
    store_path = app.config["REPO_STORE_PATH"]
    env = {**os.environ, "GIT_AUTHOR_NAME": PUSHER.name, "GIT_AUTHOR_EMAIL": PUSHER.email,
           "GIT_COMMITTER_NAME": PUSHER.name, "GIT_COMMITTER_EMAIL": PUSHER.email}
    subprocess.run(["git", "clone", "-q", store_path, str(work)], check=True, env=env)
    path = work / f"{CODE}.md"
    path.write_text(procedure_text(version="A/1", body=BODY + "\n4.9 直接推送\n"), encoding="utf-8")
    subprocess.run(["git", "-C", str(work), "commit", "-qam", "quick fix"], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "HEAD:main"], check=True, env=env)
    sha = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], check=True, capture_output=True,
                         text=True).stdout.strip()
    # The next request to a procedures page syncs, and records it at once (no app trailers: not in flight).
    assert controller.get(f"/procedures/{CODE}").status_code == 200
    with app.app_context():
        [entry] = _entries_for(sha)
        assert (entry.action, entry.actor_id, entry.actor_login) == (audit.GIT_ACTION, None, PUSHER.email)
        assert entry.after["author"] == PUSHER.name and entry.after["summary"] == "quick fix"
        assert entry.after["files"] == [{"status": "M", "path": f"{CODE}.md"}]
    result = _verify(app)
    assert result.ok, result
    r = _cli(app, "audit", "verify")
    assert r.exit_code == 0


def test_the_sync_of_another_worker_never_doubles_a_publish(app, controller, monkeypatch, tmp_path, database_url):
    """A publish whose git commit another worker's sync sees before its audit entry is written."""
    seed_procedure(app)
    other = make_app(tmp_path, database_url)
    real_after_commit = publishing.after.finish
    seen = {}

    def other_worker_syncs_first(action, code, **kw):
        with other.app_context():
            catalog.sync(commit=True)
            seen["entries"] = len(_entries_for(kw["sha"]))
        return real_after_commit(action, code, **kw)

    monkeypatch.setattr(publishing.after, "finish", other_worker_syncs_first)
    with app.app_context(), self_approval(app):
        base = get_store().head()
        r1 = publishing.publish(CODE, procedure_text(body=BODY + "\n4.3 a\n"), summary="a", base=base,
                                author=user("controller"), approved_by=None)
        # In flight: the other worker's sync left it, and the publisher wrote the one entry.
        assert seen["entries"] == 0
        assert [e.action for e in _entries_for(r1.commit)] == ["procedure.published"]
        # A publisher so slow that the other worker's sync recorded the commit from git first:
        # the publisher finds that entry and adds none (no unique violation, no second entry).
        monkeypatch.setattr(audit, "IN_FLIGHT_SECONDS", 0)
        r2 = publishing.publish(CODE, procedure_text(body=BODY + "\n4.3 b\n"), summary="b",
                                base=get_store().head(), author=user("controller"), approved_by=None)
        assert seen["entries"] == 1
        assert [e.action for e in _entries_for(r2.commit)] == [audit.GIT_ACTION]
    with other.app_context():
        db.engine.dispose()
    assert _verify(app).ok


def test_verify_reports_entries_whose_commit_is_not_on_main(app, controller):
    seed_procedure(app)
    with app.app_context():
        audit.record("procedure.published", None, object_type="procedure", object_id=CODE, git_commit="c" * 40)
        db.session.commit()
        stray = _entries_for("c" * 40)[0].id
    result = _verify(app)
    assert not result.ok and _kinds(result) == ["stray_commit"] and result.problems[0].entry_id == stray
    r = _cli(app, "audit", "verify")
    assert r.exit_code == 1 and "which is not on main" in r.output


def test_import_links_its_entries_to_their_commits(app, make_department, tmp_path):
    make_department("CS")
    folder = tmp_path / "import"
    folder.mkdir()
    (folder / f"{CODE}.md").write_text(procedure_text(), encoding="utf-8")
    r = _cli(app, "procedures", "import", str(folder))
    assert r.exit_code == 0, r.output
    with app.app_context():
        sha = get_store().head()
        assert [e.action for e in _entries_for(sha)] == ["procedure.imported"]
    assert _verify(app).ok


# ---------------------------------------------------------------------------
# key, migration
# ---------------------------------------------------------------------------


def test_the_key_lives_outside_the_database(tmp_path, database_url):
    app = make_app(tmp_path, database_url)
    key_file = Path(app.instance_path) / "audit_key"
    assert key_file.read_text().strip() == app.config["AUDIT_KEY"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = make_app(tmp_path, database_url)
    assert again.config["AUDIT_KEY"] == app.config["AUDIT_KEY"]  # created once, then reused
    given = make_app(tmp_path, database_url, AUDIT_KEY="k" * 40)
    assert given.config["AUDIT_KEY"] == "k" * 40
    with pytest.raises(ValueError, match="AUDIT_KEY"):
        make_app(tmp_path, database_url, AUDIT_KEY="short")
    for a in (app, again, given):
        with a.app_context():
            db.engine.dispose()


def _migration():
    path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0008_audit_keyed_chain.py"
    spec = importlib.util.spec_from_file_location("migration_0008", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _legacy_rows(n, *, sha):
    """Entries as the old, unkeyed scheme wrote them (one names a publish's commit)."""
    from datetime import UTC, datetime

    m = _migration()
    rows, prev = [], GENESIS_HASH
    for i in range(1, n + 1):
        after = {"version": "A/0", "commit": sha} if i == 2 else {"n": i}
        row = type("Row", (), dict(id=i, at=datetime(2026, 1, 1, 8, 0, i, 123456, tzinfo=UTC), actor_id=None,
                                   actor_login=f"user{i}", action="procedure.created" if i == 2 else "test.event",
                                   object_type="thing", object_id=str(i), before=None, after=after,
                                   reason=f"r{i}", prev_hash=prev))
        row.hash = m.legacy_hash(row, prev)
        rows.append({k: getattr(row, k) for k in ("id", "at", "actor_id", "actor_login", "action", "object_type",
                                                  "object_id", "before", "after", "reason", "prev_hash", "hash")})
        prev = row.hash
    return rows


def test_the_migration_rechains_existing_entries_under_the_key(tmp_path, database_url):
    from flask_migrate import downgrade, upgrade

    app = make_app(tmp_path, database_url)
    sha = "a" * 40
    table = _migration().audit_table(with_commit=False)
    with app.app_context():
        upgrade(revision="0007_meetings_caring_actions")
        with db.engine.begin() as conn:
            conn.execute(table.insert(), _legacy_rows(5, sha=sha))
        upgrade()
        result = audit.verify()
        kinds = [p.kind for p in result.problems]
        assert kinds == ["stray_commit"]  # the publish entry is linked now; this test's store has no main
        assert result.problems[0].commit == sha and result.problems[0].entry_id == 2
        assert result.checked == result.total == 5
        logins = list(db.session.execute(select(AuditEntry.actor_login).order_by(AuditEntry.id)).scalars())
        assert logins == [f"user{i}" for i in range(1, 6)]
        db.session.remove()
        # And back: the old scheme's chain is valid again.
        downgrade(revision="0007_meetings_caring_actions")
        m = _migration()
        with db.engine.connect() as conn:
            prev = GENESIS_HASH
            for row in conn.execute(sa.select(table).order_by(table.c.id)):
                assert row.prev_hash == prev and m.legacy_hash(row, prev) == row.hash
                prev = row.hash
        db.engine.dispose()


def test_the_migration_refuses_a_chain_that_is_already_broken(tmp_path, database_url, capfd):
    from flask_migrate import upgrade

    app = make_app(tmp_path, database_url)
    rows = _legacy_rows(4, sha="a" * 40)
    rows[2]["actor_login"] = "admin"  # changed before the upgrade: the old hash did not cover it…
    rows[1]["reason"] = "edited"  # …but this one it did
    table = _migration().audit_table(with_commit=False)
    with app.app_context():
        upgrade(revision="0007_meetings_caring_actions")
        with db.engine.begin() as conn:
            conn.execute(table.insert(), rows)
        with pytest.raises(SystemExit):  # `flask db upgrade` logs the error and exits 1
            upgrade()
        assert "The audit log is already broken at entry 2 (content)" in capfd.readouterr().err
        db.session.remove()
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() \
                == "0007_meetings_caring_actions"
            assert "git_commit" not in {c["name"] for c in sa.inspect(conn).get_columns("audit_entries")}
        db.engine.dispose()


def test_anchor_file_is_plain_json_readable_in_any_git_client(app):
    _seed(app, 2)
    assert _cli(app, "audit", "anchor").exit_code == 0
    out = subprocess.run(["git", "--git-dir", app.config["REPO_STORE_PATH"], "show",
                          f"refs/heads/{audit.ANCHOR_BRANCH}:{audit.ANCHOR_FILE}"],
                         check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    with app.app_context():
        last = db.session.execute(select(AuditEntry).order_by(AuditEntry.id.desc())).scalars().first()
        assert (data["entry_id"], data["hash"], data["count"]) == (last.id, last.hash, len(_ids()))
