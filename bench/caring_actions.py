"""Benchmark: caring-service counts, meeting and action lists on a large generated data set.

Data (deterministic): 200 projects, 400 staff, 360,000 caring services over three years
(one in 40 voided), 4,800 owners'-committee meetings with 14,400 issues, 20,000
corrective/preventive actions. Loaded with bulk INSERTs into a fresh database
(PostgreSQL schema when ``--db`` names a server, else a SQLite file).

Every page is requested through the real app (login, permission and scope checks,
templates) with Flask's test client, interleaved round-robin, and compared with a
baseline measured in the same run: a logged-in route returning a fixed 8 KB page. The
figures are medians; read the ratios, not the absolute times (2 shared cores).

Run: ``python bench/caring_actions.py [--db postgresql+psycopg://postgres@127.0.0.1:5432/test] [--rounds 15]``
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-1"  # noqa: S105 — throwaway benchmark users
KINDS = ["代收快递", "上门维修小件", "陪同就医", "代缴费用", "探望独居老人", "代浇花草", "搬运重物"]


def build_app(db_url: str, tmp: Path):
    import sqlalchemy as sa

    from webapp import create_app

    options = {}
    schema = None
    if db_url.startswith("postgresql"):
        schema = "bench_" + uuid.uuid4().hex[:10]
        admin = sa.create_engine(db_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        options = {"connect_args": {"options": f"-csearch_path={schema}"}}
    else:
        db_url = f"sqlite:///{tmp / 'bench.db'}"
    app = create_app({"DATABASE_URL": db_url, "SQLALCHEMY_ENGINE_OPTIONS": options, "INSTANCE_PATH": str(tmp / "i"),
                      "REPO_STORE_PATH": str(tmp / "store.git"), "SECRET_KEY": "bench", "ENV": "testing"})
    page = "<p>" + "x" * 8185 + "</p>"
    app.add_url_rule("/bench-baseline", "bench_baseline", lambda: page)
    return app, schema, db_url


def generate(app, seed: int = 7) -> dict:
    from sqlalchemy import insert

    from accounts.models import Project, User, user_projects
    from accounts.services import UserData, create_user, ensure_default_roles, hash_password
    from actions.models import Action
    from satisfaction.caring.models import CaringService
    from satisfaction.categories import ensure_default_categories, list_categories
    from satisfaction.meetings.models import Meeting, MeetingIssue
    from webapp.extensions import db

    rng = random.Random(seed)
    t0 = time.perf_counter()
    with app.app_context():
        db.create_all()
        ensure_default_roles()
        ensure_default_categories()
        db.session.commit()
        db.session.execute(insert(Project), [{"code": f"P{i:03d}", "name": f"项目{i:03d}", "name_en": f"Estate {i}",
                                              "address": "", "households": rng.randint(300, 3000), "active": True}
                                             for i in range(1, 201)])
        pw = hash_password(PASSWORD)
        db.session.execute(insert(User), [{"login": f"staff{i:03d}", "display_name": f"员工{i:03d}", "email": "",
                                           "password_hash": pw, "active": True, "session_nonce": uuid.uuid4().hex[:16],
                                           "created_at": datetime.now(UTC)} for i in range(400)])
        db.session.commit()
        staff_ids = list(db.session.execute(db.select(User.id)).scalars())
        db.session.execute(insert(user_projects), [{"user_id": uid, "project_id": 1 + n // 2}
                                                   for n, uid in enumerate(staff_ids)])
        create_user(UserData(login="mgr", display_name="经理", password=PASSWORD, role_codes=("manager", "clerk")))
        create_user(UserData(login="clerk", display_name="文员", password=PASSWORD, role_codes=("clerk",),
                             project_codes=("P001", "P002")))
        today = date.today()
        start = today - timedelta(days=3 * 365)
        now = datetime.now(UTC)
        rows = []
        for n in range(360_000):
            pid = 1 + n % 200
            rows.append({"project_id": pid, "served_on": start + timedelta(days=rng.randint(0, 3 * 365)),
                         "staff_id": staff_ids[(pid - 1) * 2 + rng.randint(0, 1)], "household": f"{n % 30}-{n % 7}-{n % 900}",
                         "service": rng.choice(KINDS), "minutes": rng.choice([10, 15, 20, 30, 45, 60, 90]),
                         "owner_comment": "", "created_at": now, "void_reason": "",
                         "voided_at": now if n % 40 == 0 else None})
            if len(rows) == 20_000:
                db.session.execute(insert(CaringService), rows)
                rows = []
        cats = [c.id for c in list_categories()]
        for n in range(4_800):
            db.session.execute(insert(Meeting).values(
                project_id=1 + n % 200, held_on=start + timedelta(days=rng.randint(0, 3 * 365)),
                title=f"业委会座谈会 {n}", location="", attendees="张主任\n李委员", topics="", minutes="## 纪要\n- 问题",
                created_at=now, updated_at=now, version=1, void_reason=""))
        meeting_ids = list(db.session.execute(db.select(Meeting.id)).scalars())
        db.session.execute(insert(MeetingIssue), [{"meeting_id": mid, "position": k, "description": f"问题 {k}",
                                                   "category_id": rng.choice(cats)}
                                                  for mid in meeting_ids for k in range(3)])
        statuses = ["open", "cause_analysed", "action_taken", "verified", "closed", "closed", "closed"]
        db.session.execute(insert(Action), [{
            "kind": rng.choice(["corrective", "preventive"]), "source_type": "manual", "source_id": None,
            "open_key": None, "project_id": 1 + n % 200, "title": f"措施 {n}", "description": "", "cause_analysis": "",
            "planned_action": "", "action_taken": "", "status": rng.choice(statuses),
            "due_on": today + timedelta(days=rng.randint(-120, 120)), "verification_result": "",
            "created_at": now, "updated_at": now, "version": 1, "void_reason": ""} for n in range(20_000)])
        db.session.commit()
        with db.engine.connect() as conn:  # fresh planner statistics, as autovacuum would give
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    return {"seconds": time.perf_counter() - t0, "year": today.year}


def measure(app, year: int, rounds: int) -> dict:
    import re

    token_re = re.compile(r'name="csrf-token" content="([^"]+)"')
    clients, tokens = {}, {}
    for login in ("mgr", "clerk"):
        c = app.test_client()
        token = token_re.search(c.get("/login").get_data(as_text=True)).group(1)
        r = c.post("/login", data={"login": login, "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 302, r.status_code
        clients[login] = c
        tokens[login] = token_re.search(c.get("/").get_data(as_text=True)).group(1)
    cases = {
        "baseline: logged-in fixed 8 KB page": ("mgr", "/bench-baseline"),
        "caring monthly counts, all 200 projects": ("mgr", f"/satisfaction/caring/monthly?year={year}"),
        "caring monthly counts, clerk (2 projects)": ("clerk", f"/satisfaction/caring/monthly?year={year}"),
        "caring entry form (with this month's counts)": ("clerk", "/satisfaction/caring/new"),
        "caring list, all projects, page 1": ("mgr", "/satisfaction/caring/"),
        "caring list, one project and month": ("mgr", f"/satisfaction/caring/?project=5&year={year}&month=1"),
        "meetings list, all projects": ("mgr", "/satisfaction/meetings/"),
        "meeting detail (3 issues)": ("mgr", "/satisfaction/meetings/1"),
        "actions list, overdue only": ("mgr", "/actions/?overdue=1"),
        "actions list, not closed": ("mgr", "/actions/"),
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    for label, (who, url) in cases.items():  # warm up
        assert clients[who].get(url).status_code == 200, (label, url)
    for _ in range(rounds):
        for label, (who, url) in cases.items():
            t = time.perf_counter()
            r = clients[who].get(url)
            times[label].append(time.perf_counter() - t)
            assert r.status_code == 200
    # writes: a caring service (validation, scope, audit chain) per round
    writes = []
    c = clients["clerk"]
    for n in range(rounds):
        t = time.perf_counter()
        r = c.post("/satisfaction/caring/new", data={"project_id": "1", "served_on": date.today().isoformat(),
                                                      "staff_id": "1", "household": f"1-1-{n}", "service": "代收快递",
                                                      "minutes": "15", "owner_comment": "",
                                                      "csrf_token": tokens["clerk"]})
        writes.append(time.perf_counter() - t)
        assert r.status_code == 302, r.get_data(as_text=True)[-500:]
    times["record a caring service (POST, audited)"] = writes
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="", help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app, schema, _url = build_app(args.db, Path(tmp))
        try:
            info = generate(app)
            print(f"generated in {info['seconds']:.1f} s on {'PostgreSQL' if schema else 'SQLite'}")
            medians = measure(app, info["year"], args.rounds)
        finally:
            from webapp.extensions import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            if schema:
                import sqlalchemy as sa

                admin = sa.create_engine(args.db, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    base = medians["baseline: logged-in fixed 8 KB page"]
    print(f"{'case':48} {'median ms':>10} {'× baseline':>11}")
    for label, value in medians.items():
        print(f"{label:48} {value * 1000:10.1f} {value / base:11.1f}")


if __name__ == "__main__":
    main()
