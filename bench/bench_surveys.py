"""Benchmark: owner surveys — entering a paper form, importing 5,000 forms, rates over 100,000 forms.

Data: a fresh database (a temporary SQLite file, or a throwaway schema in the PostgreSQL
server given with ``--db``) with 200 projects, one survey campaign each for this year and
100,000 returned forms with four rated categories (400,000 ratings), loaded through the
app's own bulk-insert path (``satisfaction.surveys.importing.bulk_insert``).

Every case is a real request through the app with Flask's test client (session login,
CSRF, permission and project-scope checks, validation, SQL, audit log, templates),
interleaved round-robin with a baseline measured in the same run — a logged-in route that
returns a fixed 8 KB page — so noise from the two shared cores spreads evenly. Read the
medians and the ratios to the baseline, not absolute figures across runs.

Targets: entering one paper form < 100 ms of server time (the form post without
JavaScript, and the JSON call the entry page makes with it); importing an XLSX of 5,000
forms < 10 s. Also reported: the campaign list (200 campaigns with their rates), the company
summary over all 100,000 forms (per project, per category, rating histogram) and one
campaign's page.

Run: ``python bench/bench_surveys.py [--db postgresql+psycopg://postgres@127.0.0.1:5432/test]
[--entries 200] [--imports 3]``
"""
from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-1"  # noqa: S105 — throwaway benchmark users
PROJECTS = 200
RESPONSES = 100_000
IMPORT_ROWS = 5_000
BASELINE = "baseline: logged-in fixed 8 KB page"
ENTRY_TARGET_MS = 100.0
IMPORT_TARGET_S = 10.0


def database(db_url: str | None):
    """(url, engine options, cleanup) for a database nobody else uses."""
    if db_url and db_url.startswith("postgresql"):
        import sqlalchemy as sa

        from webapp.config import normalise_database_url

        url = normalise_database_url(db_url)
        schema = "bench_surveys_" + uuid.uuid4().hex[:10]
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

        def cleanup():
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

        return url, {"connect_args": {"options": f"-csearch_path={schema}"}}, cleanup
    tmp = Path(tempfile.mkdtemp(prefix="bench-surveys-db-"))
    return f"sqlite:///{tmp / 'surveys.db'}", {}, lambda: None


def build_app(url: str, options: dict):
    from webapp import create_app

    tmp = Path(tempfile.mkdtemp(prefix="bench-surveys-"))
    app = create_app({"DATABASE_URL": url, "SQLALCHEMY_ENGINE_OPTIONS": options, "INSTANCE_PATH": str(tmp / "i"),
                      "REPO_STORE_PATH": str(tmp / "store.git"), "SECRET_KEY": "bench", "ENV": "testing",
                      "TESTING": True})
    page = "<p>" + "x" * 8185 + "</p>"
    app.add_url_rule("/bench-baseline", "bench_baseline", lambda: page)
    return app


def generate(app, rng: random.Random) -> dict:
    """200 projects with a campaign each and 100,000 forms; a few spare projects for imports."""
    from sqlalchemy import insert, select

    from accounts.models import Project, User
    from accounts.services import UserData, create_user, ensure_default_roles
    from audit import service as audit
    from satisfaction.categories import ensure_default_categories, list_categories
    from satisfaction.surveys.importing import bulk_insert
    from satisfaction.surveys.models import SurveyCampaign
    from webapp.dates import local_today
    from webapp.db import utcnow
    from webapp.extensions import db

    t0 = time.perf_counter()
    with app.app_context():
        db.create_all()
        ensure_default_roles()
        ensure_default_categories()
        # P-001 and P-002 (the clerk's, where forms are entered) have room for every entry.
        db.session.execute(insert(Project), [
            {"code": f"P-{i:03d}", "name": f"项目{i:03d}", "name_en": f"Estate {i:03d}", "address": "",
             "households": 3000 if i <= 2 else rng.randint(600, 3000), "active": True}
            for i in range(1, PROJECTS + 1)]
            + [{"code": f"IMP-{i}", "name": f"导入项目{i}", "name_en": f"Import {i}", "address": "",
                "households": 8000, "active": True} for i in range(1, 11)])
        db.session.commit()
        create_user(UserData(login="admin", display_name="管理员", password=PASSWORD, role_codes=("admin",)))
        create_user(UserData(login="clerk", display_name="文员", password=PASSWORD, role_codes=("clerk",),
                             project_codes=("P-001", "P-002") + tuple(f"IMP-{i}" for i in range(1, 11))))
        admin = db.session.execute(select(User).where(User.login == "admin")).scalar_one()
        cats = [c.id for c in list_categories()][:4]
        today = local_today()
        now = utcnow()
        projects = list(db.session.execute(select(Project).order_by(Project.id)).scalars())
        campaigns = {}
        for p in projects:
            distributed = int(p.households * 0.93) if p.code.startswith("P-") else 7800
            c = SurveyCampaign(project_id=p.id, year=today.year, period="", slot=f"{p.id}:{today.year}:",
                               households=p.households, distributed=distributed,
                               distributed_on=today.replace(month=1, day=10) if today.month > 1 else today,
                               category_ids=cats, status="open", created_at=now, updated_at=now,
                               created_by_id=admin.id, void_reason="")
            db.session.add(c)
            campaigns[p.code] = c
        db.session.flush()
        audit.record("survey_campaign.created", None, object_type="bench", object_id="campaigns", actor=admin,
                      after={"count": len(campaigns)})
        db.session.commit()
        t1 = time.perf_counter()
        per = RESPONSES // PROJECTS
        for i in range(PROJECTS):
            code = f"P-{i + 1:03d}"
            rows = []
            for _ in range(per):
                overall = 5 if rng.random() < 0.5 else (4 if rng.random() < 0.75 else rng.randint(1, 3))
                rows.append({"overall": overall, "room": f"{rng.randint(1, 30)}-{rng.randint(101, 3206)}",
                             "comments": "", "ratings": {c: max(1, min(5, overall + rng.choice((-1, 0, 0, 0, 1))))
                                                         for c in cats if rng.random() > 0.03}})
            bulk_insert(campaigns[code].id, rows, source="paper", batch=None, actor=admin)
        db.session.commit()
        load = time.perf_counter() - t1
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        ids = {code: c.id for code, c in campaigns.items()}
        db.session.remove()
    return {"campaigns": ids, "categories": cats, "year": today.year, "seconds_total": round(time.perf_counter() - t0, 1),
            "seconds_bulk_insert_100k": round(load, 1)}


def _client(app, login: str):
    from tests.conftest import Client

    client = Client(app)
    r = client.login(login, PASSWORD)
    assert r.status_code == 302, (login, r.status_code)
    client.get("/")
    return client


def _xlsx(n: int, rng: random.Random) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("调查表")
    ws.append(["房号", "总体评价", "安全", "环境（保洁、绿化）", "维修", "客服", "意见建议"])
    words = ["非常满意", "满意", "一般", "不满意", "非常不满意"]
    for i in range(n):
        ws.append([f"{i // 100 + 1}-{i % 100 + 101}", rng.choice([5, 4, 4, "满意", "非常满意", 3]),
                   rng.randint(1, 5), rng.choice(words), rng.randint(3, 5), None if i % 7 == 0 else 4,
                   "电梯维修太慢" if i % 13 == 0 else ""])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def summarise(samples: dict[str, list[float]]) -> dict:
    base = statistics.median(samples[BASELINE])
    out = {}
    for label, values in samples.items():
        values = sorted(values)
        med = statistics.median(values)
        out[label] = {"n": len(values), "median_ms": _ms(med), "p90_ms": _ms(values[int(0.9 * (len(values) - 1))]),
                      "ratio_to_baseline": round(med / base, 1)}
    return out


def run(db_url: str | None, entries: int, imports: int) -> dict:
    url, options, cleanup = database(db_url)
    try:
        rng = random.Random(20261127)
        app = build_app(url, options)
        info = generate(app, rng)
        ids = info["campaigns"]
        clerk = _client(app, "clerk")
        admin = _client(app, "admin")
        cats = info["categories"]
        from webapp.extensions import db

        entry_form = f"/satisfaction/surveys/{ids['P-001']}/entry"
        entry_api = f"/api/v1/survey-campaigns/{ids['P-002']}/responses"
        clerk.get(entry_form)  # CSRF token for the form posts
        year = info["year"]
        reads = {
            "campaign list, 200 campaigns with rates": f"/satisfaction/surveys/?year={year}",
            "company summary over 100,000 forms": f"/satisfaction/surveys/summary?year={year}",
            "campaign page (rates, categories, histogram)": f"/satisfaction/surveys/{ids['P-100']}",
            "API campaign detail": f"/api/v1/survey-campaigns/{ids['P-100']}",
        }
        samples: dict[str, list[float]] = {BASELINE: [], "enter a paper form (form post, no JS)": [],
                                           "enter a paper form (JSON API, the entry page's JS)": []}
        samples.update({k: [] for k in reads})
        for label, u in reads.items():  # warm up
            assert admin.get(u).status_code == 200, label
        for i in range(entries):
            t = time.perf_counter()
            r = clerk.get("/bench-baseline")
            samples[BASELINE].append(time.perf_counter() - t)
            assert r.status_code == 200
            form = {"overall": str(rng.randint(1, 5)), "room": f"{i}-1-101", "comments": ""}
            form.update({f"r_{c}": str(rng.randint(1, 5)) for c in cats})
            t = time.perf_counter()
            r = clerk.post(entry_form, form)
            samples["enter a paper form (form post, no JS)"].append(time.perf_counter() - t)
            assert r.status_code == 302, r.status_code
            body = {"overall": rng.randint(1, 5), "source": "paper", "room": f"{i}-2-202",
                    "ratings": {str(c): rng.randint(1, 5) for c in cats}}
            t = time.perf_counter()
            r = clerk.api("POST", entry_api, json=body)
            samples["enter a paper form (JSON API, the entry page's JS)"].append(time.perf_counter() - t)
            assert r.status_code == 201, r.json
            if i % 4 == 0:  # the read pages are slower: sample them every 4th round
                for label, u in reads.items():
                    t = time.perf_counter()
                    r = admin.get(u)
                    samples[label].append(time.perf_counter() - t)
                    assert r.status_code == 200, label
        results = summarise(samples)

        import_times = []
        for n in range(1, imports + 1):
            data = _xlsx(IMPORT_ROWS, rng)
            campaign = ids[f"IMP-{n}"]
            clerk.get(f"/satisfaction/surveys/{campaign}/import")
            t = time.perf_counter()
            r = clerk.post(f"/satisfaction/surveys/{campaign}/import", {"file": (io.BytesIO(data), "forms.xlsx")},
                           content_type="multipart/form-data")
            import_times.append(time.perf_counter() - t)
            assert r.status_code == 302, r.get_data(as_text=True)[:500]
        with app.app_context():
            from sqlalchemy import func, select

            from satisfaction.surveys.models import SurveyResponse

            total = db.session.execute(select(func.count()).select_from(SurveyResponse)).scalar()
            db.session.remove()
            db.engine.dispose()
        entry_ms = max(results["enter a paper form (form post, no JS)"]["median_ms"],
                       results["enter a paper form (JSON API, the entry page's JS)"]["median_ms"])
        return {
            "database": "postgresql" if url.startswith("postgresql") else "sqlite",
            "data": {**info, "campaigns": len(ids), "responses_at_end": total},
            "requests": results,
            "xlsx_import_5000": {"runs_s": [round(x, 2) for x in import_times],
                                 "median_s": round(statistics.median(import_times), 2)},
            "targets": {"entry_median_ms": ENTRY_TARGET_MS, "entry_ok": entry_ms < ENTRY_TARGET_MS,
                        "import_s": IMPORT_TARGET_S,
                        "import_ok": statistics.median(import_times) < IMPORT_TARGET_S},
        }
    finally:
        cleanup()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="PostgreSQL URL (a throwaway schema is used); default: SQLite")
    parser.add_argument("--entries", type=int, default=200, help="paper forms entered per way (default 200)")
    parser.add_argument("--imports", type=int, default=3, help="XLSX imports of 5,000 forms (default 3)")
    args = parser.parse_args(argv)
    result = run(args.db, args.entries, args.imports)
    out = ROOT / "bench" / "results" / f"surveys-{result['database']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"owner surveys on {result['database']}: {result['data']['responses_at_end']:,} forms at the end")
    width = max(len(k) for k in result["requests"])
    for label, r in result["requests"].items():
        print(f"  {label:<{width}}  median {r['median_ms']:8.2f} ms  p90 {r['p90_ms']:8.2f} ms  "
              f"x{r['ratio_to_baseline']:<6} (n={r['n']})")
    imp = result["xlsx_import_5000"]
    print(f"  XLSX import of {IMPORT_ROWS:,} forms: median {imp['median_s']} s (runs {imp['runs_s']})")
    print(f"  bulk insert of {RESPONSES:,} generated forms: {result['data']['seconds_bulk_insert_100k']} s")
    t = result["targets"]
    print(f"  targets: entry < {ENTRY_TARGET_MS:.0f} ms {'OK' if t['entry_ok'] else 'MISSED'}; "
          f"import < {IMPORT_TARGET_S:.0f} s {'OK' if t['import_ok'] else 'MISSED'}")
    print(f"  written to {out.relative_to(ROOT)}")
    return 0 if t["entry_ok"] and t["import_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
