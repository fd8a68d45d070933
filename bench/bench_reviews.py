"""Review-workflow benchmark: the dashboard, posting a comment and implementing a review, over HTTP.

Data (``bench/reviews_data.py``, cached): the ``bench/data.py`` instance (2,000 procedures of ~8 KB,
one with 500 versions) plus 500 open reviews of one or two procedures each — chair and the four
participant categories, draft commits on their branches, 20 comments each (replies, anchored
comments, resolved threads) — and a pool of one-procedure reviews prepared up to the implement step
(draft saved, signed by management and the department head, decided). ProcDesk runs under gunicorn
(2 sync workers, ``--no-control-socket``) on a private copy that is thrown away afterwards; users log
in through the real form and the wall time of each request is recorded on the client:

* ``dashboard`` — ``GET /reviews/`` as the chair (``controller``): 500+ reviews in progress, the
                  procedures due and overdue for review, the recently closed ones;
* ``comment``   — ``POST /reviews/<number>/comments`` (form + CSRF) by a participant
                  (``frontline``, so the chair gets a notice), a plain and an anchored comment (clause
                  and quote on the draft's tip) alternately, over the open reviews in turn; 302
                  expected, not followed (the session cookie from before the post is kept, so
                  flash messages do not pile up in it);
* ``implement`` — ``POST /reviews/<number>/implement`` with today's date by the chair, one pool
                  review per request (merge of the draft into ``main`` with the change record,
                  catalogue, review closed); 302 expected; the review page is read first, untimed,
                  as the chair's browser would;
* ``baseline``  — GET of the fixed 8 KB page of ``bench/baseline_app.py`` under the same gunicorn
                  settings and client, in rounds alternating with the cases.

Medians and p90 are quoted, plus each median as a multiple of the baseline's median (two shared
cores: compare ratios within one run). Targets: dashboard median < 100 ms, comment < 50 ms,
implement < 150 ms. Afterwards the database is checked: every comment stored, every implemented
review closed. ``--profile`` also runs each case in-process under cProfile with SQL statement counts.

Usage: ``python bench/bench_reviews.py [--rounds 3] [--per-round 30] [--implements 15] [--quick] [--profile]``
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_procedures import Gunicorn, session_cookie  # noqa: E402
from bench.bench_publish import Client, _stats  # noqa: E402
from bench.reviews_data import CHAIR, ensure  # noqa: E402

RESULTS = ROOT / "bench" / "results"
COMMENTER = "frontline"
TARGETS_MS = {"dashboard": 100.0, "comment": 50.0, "implement": 150.0}
CASES = ("baseline", "dashboard", "comment", "implement")


def _field(html: str, name: str) -> str:
    """The value of input ``name`` (the first one of that name on the page)."""
    m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(rf'value="([^"]*)"[^>]*name="{name}"', html)
    return m.group(1) if m else ""


def _logged_in(base: str, login: str) -> Client:
    """A client logged in as ``login`` through the real form, holding the session's CSRF token."""
    client = Client(base)
    client.cookie = session_cookie(base, login)
    client.request("GET", "/reviews/")
    if not client.csrf:
        raise RuntimeError(f"no CSRF token for {login}")
    return client


def _post(client: Client, path: str, fields: dict):
    """POST a form, keeping the session cookie held before it (the flash the redirect would show is dropped)."""
    cookie = client.cookie
    status, headers, body, elapsed = client.form(path, fields)
    client.cookie = cookie
    return status, headers, body, elapsed


def _comment_fields(target: dict, n: int) -> dict:
    body = f"基准测试意见 {n}：建议把回访时限写清楚，并与《投诉处理记录表》一致。"
    if n % 2 and target["clause"]:
        return {"body": body, "parent_id": "", "code": target["code"], "commit": target["commit"],
                "clause": target["clause"], "quote": target["quote"]}
    return {"body": body, "parent_id": "", "code": "", "commit": "", "clause": "", "quote": ""}


def _comment(client: Client, target: dict, n: int) -> float:
    status, headers, body, elapsed = _post(client, f"/reviews/{target['number']}/comments",
                                           _comment_fields(target, n))
    assert status == 302, (status, target["number"], re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]*)<',
                                                                 body.decode())[:3] or body[:300])
    return elapsed


def _implement(client: Client, number: str) -> float:
    status, _h, page, _t = client.request("GET", f"/reviews/{number}")  # the chair opens the review first
    assert status == 200, (status, number)
    html = page.decode()
    effective = _field(html, "effective")
    assert effective, f"{number}: no implement form"
    status, headers, body, elapsed = _post(client, f"/reviews/{number}/implement",
                                           {"version": _field(html, "version"), "effective": effective})
    assert status == 302, (status, number, re.findall(r'class="[^"]*(?:error|flash)[^"]*"[^>]*>([^<]*)<',
                                                      body.decode())[:3] or body[:300])
    return elapsed


def _dashboard(client: Client) -> float:
    status, _h, page, elapsed = client.request("GET", "/reviews/")
    assert status == 200 and b"/reviews/R-" in page, status  # lists reviews (not the login page)
    return elapsed


def run(rounds: int, per_round: int, implements: int, *, profile: bool = False) -> dict:
    info = ensure(RESULTS / "reviews")
    pool = [p["number"] for p in info["pool_reviews"]]
    warm = 2
    if warm + rounds * implements > len(pool):
        implements = max(1, (len(pool) - warm) // rounds)
        print(f"note: the pool holds {len(pool)} reviews; implementing {implements} per round", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="procdesk-bench-reviews-"))
    try:
        shutil.copytree(info["instance"], work / "instance")  # implementing and commenting change it
        inst = work / "instance"
        env = {"PROCDESK_INSTANCE_PATH": str(inst), "DATABASE_URL": f"sqlite:///{inst / 'procdesk.db'}",
               "REPO_STORE_PATH": str(inst / "store.git"), "ENV": "development"}
        baseline = Gunicorn("bench.baseline_app:app")
        app = Gunicorn("wsgi:app", env)
        try:
            baseline.wait("/")
            app.wait("/healthz")
            result = _measure(info, baseline, app, rounds, per_round, implements, iter(pool))
        finally:
            app.stop()
            baseline.stop()
        result["checks"] = _check(inst / "procdesk.db", info, result.pop("_posted"))
        if profile:
            result["profile"] = profile_cases(info, inst)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(info: dict, baseline: Gunicorn, app: Gunicorn, rounds: int, per_round: int, implements: int,
             pool) -> dict:
    chair = _logged_in(app.url, CHAIR)
    member = _logged_in(app.url, COMMENTER)
    base_client = Client(baseline.url)
    targets = [t for t in info["targets"] if t["state"] in ("propose", "discuss", "decide")]
    times: dict[str, list[float]] = {k: [] for k in CASES}
    posted = {"comments": 0, "implemented": []}
    n = 0

    def comment() -> float:
        nonlocal n
        n += 1
        posted["comments"] += 1
        return _comment(member, targets[n % len(targets)], n)

    def implement() -> float:
        number = next(pool)
        posted["implemented"].append(number)
        return _implement(chair, number)

    # Warm up both workers (imports, first renders, the catalogue sync after a release).
    for _ in range(4):
        _dashboard(chair)
        comment()
        base_client.request("GET", "/")
    for _ in range(2):
        implement()
        _dashboard(chair)

    for _ in range(rounds):
        for _ in range(per_round):
            times["baseline"].append(base_client.request("GET", "/")[3])
        for _ in range(per_round):
            times["dashboard"].append(_dashboard(chair))
        for _ in range(per_round):
            times["comment"].append(comment())
        for _ in range(implements):
            times["implement"].append(implement())

    summary = {name: _stats(values) for name, values in times.items()}
    base_median = summary["baseline"]["median_ms"]
    for s in summary.values():
        s["x_baseline"] = round(s["median_ms"] / base_median, 1) if base_median else None
    return {
        "benchmark": "reviews", "at": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()},
        "settings": {"workers": 2, "rounds": rounds, "per_round": per_round, "implements_per_round": implements},
        "data": {"procedures": info["procedures"], "open_reviews": info["open_reviews"],
                 "comments_per_review": info["comments"], "pool": len(info["pool_reviews"]), **info["counts"]},
        "summary": summary,
        "targets": {f"{case} median < {limit:.0f} ms": summary[case]["median_ms"] < limit
                    for case, limit in TARGETS_MS.items()},
        "_posted": posted,
    }


def _check(db_path: Path, info: dict, posted: dict) -> dict:
    """What the requests left in the database: the comments stored, the implemented reviews closed."""
    con = sqlite3.connect(db_path)
    try:
        comments = con.execute("SELECT count(*) FROM review_comments").fetchone()[0]
        numbers = posted["implemented"]
        closed = con.execute(f"SELECT count(*) FROM reviews WHERE state = 'closed' AND result_commit IS NOT NULL "
                             f"AND number IN ({','.join('?' * len(numbers))})", numbers).fetchone()[0]
        still_open = con.execute("SELECT count(*) FROM reviews WHERE state IN ('propose', 'discuss', 'decide', "
                                 "'implement')").fetchone()[0]
    finally:
        con.close()
    built = info["counts"]["comments"]
    checks = {"comments_added": comments - built, "comments_posted": posted["comments"],
              "implemented": len(numbers), "closed": closed, "open_reviews_after": still_open}
    checks["ok"] = checks["comments_added"] == posted["comments"] and closed == len(numbers)
    return checks


# --------------------------------------------------------------------------
# in-process profile (where the time goes)
# --------------------------------------------------------------------------

def profile_cases(info: dict, instance: Path, repeat: int = 10) -> dict:
    """Each case ``repeat`` times in one process with the Flask test client: milliseconds per request,
    SQL statements per request and the top functions by cumulative time (project code only)."""
    import cProfile
    import io
    import pstats
    import time

    from sqlalchemy import event

    from webapp import create_app
    from webapp.extensions import db

    app = create_app({"INSTANCE_PATH": str(instance), "DATABASE_URL": f"sqlite:///{instance / 'procdesk.db'}",
                      "REPO_STORE_PATH": str(instance / "store.git"), "ENV": "development"})
    statements = [0]
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    pool = [p["number"] for p in info["pool_reviews"]]
    with app.app_context():
        import sqlalchemy as sa
        done = {r[0] for r in db.session.execute(sa.text("SELECT number FROM reviews WHERE state = 'closed'"))}
        db.session.remove()
    pool = iter([n for n in pool if n not in done])
    targets = [t for t in info["targets"] if t["state"] in ("propose", "discuss", "decide")]

    def client_for(login):
        c = app.test_client()
        c.environ_base["HTTP_USER_AGENT"] = "procdesk-bench"
        page = c.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert c.post("/login", data={"login": login, "password": "procdesk-demo", "csrf_token": token}).status_code == 302
        html = c.get("/reviews/").get_data(as_text=True)
        c.csrf = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
        return c

    chair, member = client_for(CHAIR), client_for(COMMENTER)
    counter = [0]

    def dashboard():
        return lambda: chair.get("/reviews/")

    def comment():
        counter[0] += 1
        t = targets[(counter[0] * 7) % len(targets)]
        data = {**_comment_fields(t, counter[0]), "csrf_token": member.csrf}
        return lambda: member.post(f"/reviews/{t['number']}/comments", data=data)

    def implement():
        number = next(pool)
        html = chair.get(f"/reviews/{number}").get_data(as_text=True)  # untimed, as over HTTP
        data = {"version": _field(html, "version"), "effective": _field(html, "effective"), "csrf_token": chair.csrf}
        return lambda: chair.post(f"/reviews/{number}/implement", data=data)

    out = {}
    project = re.escape(str(ROOT)) + r"/(?!\.venv)"
    for name, prepare, status in (("dashboard", dashboard, 200), ("comment", comment, 302),
                                  ("implement", implement, 302)):
        assert prepare()().status_code == status  # warm
        prof = cProfile.Profile()
        counts, elapsed = [], []
        for _ in range(repeat if name != "implement" else max(2, repeat // 2)):
            fire = prepare()
            statements[0] = 0
            t = time.perf_counter()
            prof.enable()
            response = fire()
            prof.disable()
            elapsed.append((time.perf_counter() - t) * 1000)
            counts.append(statements[0])
            assert response.status_code == status, (name, response.status_code)
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(project, 25)
        out[name] = {"ms": sorted(round(e, 1) for e in elapsed), "sql_statements": counts,
                     "top": [line for line in buf.getvalue().splitlines() if line.strip()][-26:]}
    with app.app_context():
        db.engine.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description="Review-workflow benchmark")
    parser.add_argument("--rounds", type=int, default=3, help="measurement rounds (cases alternate with the baseline)")
    parser.add_argument("--per-round", type=int, default=30, help="dashboard reads and comments per round")
    parser.add_argument("--implements", type=int, default=15, help="reviews implemented per round")
    parser.add_argument("--quick", action="store_true", help="one short round (a smoke test of the script)")
    parser.add_argument("--profile", action="store_true", help="also profile each case in-process (cProfile, SQL)")
    args = parser.parse_args()
    rounds, per_round, implements = (1, 8, 4) if args.quick else (args.rounds, args.per_round, args.implements)
    result = run(rounds, per_round, implements, profile=args.profile)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"reviews-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    labels = {"baseline": "baseline GET (fixed 8 KB page)", "dashboard": "dashboard GET /reviews/ (chair)",
              "comment": "post a comment (302)", "implement": "implement a review (302)"}
    for name, label in labels.items():
        s = result["summary"][name]
        print(f"{label:34} n={s['n']:4}  median {s['median_ms']:7.2f} ms  p90 {s['p90_ms']:7.2f} ms  "
              f"= {s['x_baseline']}× baseline")
    for target, ok in result["targets"].items():
        print(f"  [{'ok' if ok else 'MISSED'}] {target}")
    print(f"  [{'ok' if result['checks']['ok'] else 'FAILED'}] database check: {result['checks']}")
    for name, p in result.get("profile", {}).items():
        print(f"\nprofile {name}: ms {p['ms']}  SQL statements {p['sql_statements']}")
        print("\n".join(p["top"]))
    print(f"results: {path.relative_to(ROOT)}")
    return 0 if all(result["targets"].values()) and result["checks"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
