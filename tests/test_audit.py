"""The audit log: entries for changes, hash chain verification, tamper detection."""
from __future__ import annotations

from sqlalchemy import select, text, update

from audit.models import AuditEntry
from audit.service import record, verify
from webapp.extensions import db


def _entries(app):
    with app.app_context():
        return [(e.action, e.actor_login, e.object_type) for e in
                db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]


def test_changes_are_audited_with_actor_and_before_after(app, logged_in):
    client = logged_in("admin")
    client.post("/admin/departments/new", {"code": "CS", "name": "客服部", "active": "y"})
    with app.app_context():
        dept_id = db.session.execute(select(AuditEntry.object_id).where(
            AuditEntry.action == "department.created")).scalar_one()
    client.post(f"/admin/departments/{dept_id}", {"code": "CS", "name": "客户服务部", "active": "y"})
    with app.app_context():
        e = db.session.execute(select(AuditEntry).where(AuditEntry.action == "department.updated")).scalar_one()
        assert e.actor_login == "admin"
        assert e.before["name"] == "客服部" and e.after["name"] == "客户服务部"
        assert e.at.tzinfo is not None


def test_chain_verifies_and_detects_tampering(app):
    with app.app_context():
        for i in range(5):
            record("test.event", None, object_type="thing", object_id=i, after={"n": i}, reason=f"r{i}")
        db.session.commit()
        result = verify()
        assert result.ok and result.checked >= 5
        victim = db.session.execute(select(AuditEntry.id).where(AuditEntry.object_id == "2")).scalar_one()
        # Tamper directly in the database, as an attacker with SQL access would.
        db.session.execute(update(AuditEntry).where(AuditEntry.id == victim).values(reason="edited"))
        db.session.commit()
        result = verify()
        assert not result.ok and result.broken_id == victim and result.problem == "content"


def test_deleting_an_entry_breaks_the_link(app):
    with app.app_context():
        for i in range(4):
            record("test.event", None, object_type="thing", object_id=i)
        db.session.commit()
        ids = list(db.session.execute(select(AuditEntry.id).order_by(AuditEntry.id)).scalars())
        db.session.execute(text("DELETE FROM audit_entries WHERE id = :i"), {"i": ids[1]})
        db.session.commit()
        result = verify()
        # Reported as what it is: entries deleted before an intact entry (no longer a generic "link").
        assert not result.ok and result.broken_id == ids[2] and result.problem == "missing"


def test_verify_cli_reports_the_first_broken_entry(app):
    with app.app_context():
        for i in range(3):
            record("test.event", None, object_type="thing", object_id=i)
        db.session.commit()
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
    with app.app_context():
        first = db.session.execute(select(AuditEntry.id).order_by(AuditEntry.id)).scalars().first()
        db.session.execute(update(AuditEntry).where(AuditEntry.id == first).values(action="forged"))
        db.session.commit()
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1 and f"entry {first}" in bad.output


def test_audit_page_filters_and_verifies(app, logged_in):
    client = logged_in("admin")
    client.post("/admin/projects/new", {"code": "P-A", "name": "翠湖", "households": "100", "active": "y"})
    page = client.get("/audit/?object_type=projects").get_data(as_text=True)
    # (every action code is also an option of the action filter: look at the rows' own marks)
    assert 'data-action="project.created"' in page and 'data-action="user.created"' not in page
    page = client.get("/audit/?actor_login=nobody").get_data(as_text=True)
    assert 'data-action="project.created"' not in page
    r = client.post("/audit/verify")
    assert r.status_code == 200 and 'data-testid="audit-ok"' in r.get_data(as_text=True)


def test_a_failed_change_leaves_no_audit_entry(app, logged_in):
    client = logged_in("admin")
    before = len(_entries(app))
    client.post("/admin/projects/new", {"code": "P-A", "name": "a", "households": "10", "active": "y"})
    client.post("/admin/projects/new", {"code": "P-A", "name": "dup", "households": "10"})
    assert len(_entries(app)) == before + 1
