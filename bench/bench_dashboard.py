"""Benchmark: the satisfaction dashboard over 200 projects, 100,000 survey forms and 1,000,000 register entries.

Data: ``bench/records_data.py`` (the same cached data set as ``bench_records.py``). Every case is a
real request through the app (session login, permission and project-scope checks, SQL aggregates,
templates) with Flask's test client, interleaved round-robin with a baseline — a logged-in route
returning a fixed 8 KB page — so that noise from the two shared cores spreads evenly; read the
medians and their ratio to the baseline's. The first request of each case (cold: nothing cached in
the process) is reported apart.

Target (issue 11): the dashboard renders in under 300 ms median, on SQLite and on PostgreSQL.

Run: ``python bench/bench_dashboard.py [--db postgresql+psycopg://postgres@127.0.0.1:5432/test] [--rounds 25]``
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import records_data  # noqa: E402
from bench.bench_records import _client, build_app  # noqa: E402

TARGET_MS = 300.0
BASELINE = "baseline (fixed 8 KB page)"


def cases(year: int) -> dict[str, tuple[str, str]]:
    return {
        BASELINE: ("mgr", "/bench-baseline"),
        "dashboard, whole company (200 projects)": ("mgr", f"/satisfaction/dashboard?year={year}"),
        "dashboard data (JSON), whole company": ("mgr", f"/api/v1/satisfaction/dashboard?year={year}"),
        "dashboard, the year before": ("mgr", f"/satisfaction/dashboard?year={year - 1}"),
        "dashboard, a clerk's two projects": ("clerk", f"/satisfaction/dashboard?year={year}"),
        "dashboard, one project": ("mgr", f"/satisfaction/dashboard?year={year}&project=P-001"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite under bench/results)")
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    info = records_data.ensure(args.db)
    app = build_app(info)
    dialect = "postgresql" if info.get("schema") else "sqlite"
    year = datetime.fromisoformat(info["anchor"]).year
    clients = {login: _client(app, login) for login in ("mgr", "clerk")}
    plan = cases(year)
    cold, samples = {}, {label: [] for label in plan}
    for label, (login, url) in plan.items():
        started = time.perf_counter()
        response = clients[login].get(url)
        cold[label] = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (label, response.status_code, response.get_data(as_text=True)[:300])
    for _ in range(args.rounds):
        for label, (login, url) in plan.items():
            started = time.perf_counter()
            response = clients[login].get(url)
            samples[label].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, label
    base = statistics.median(samples[BASELINE])
    print(f"\ndashboard benchmark — {dialect}, {info['entries']:,} register entries, {info['responses']:,} forms, "
          f"{info['projects']} projects, {args.rounds} rounds, {datetime.now().isoformat(timespec='minutes')}")
    print(f"{'case':44} {'cold ms':>8} {'median ms':>10} {'p90 ms':>8} {'× baseline':>11}  target")
    rows, ok = [], True
    for label, values in samples.items():
        med = statistics.median(values)
        p90 = sorted(values)[int(0.9 * (len(values) - 1))]
        passed = None if label == BASELINE else med < TARGET_MS
        ok = ok and passed is not False
        mark = "" if passed is None else (f"< {TARGET_MS:.0f} ms " + ("ok" if passed else "MISSED"))
        print(f"{label:44} {cold[label]:8.1f} {med:10.1f} {p90:8.1f} {med / base:11.1f}  {mark}")
        rows.append({"case": label, "cold_ms": round(cold[label], 1), "median_ms": round(med, 2),
                     "p90_ms": round(p90, 2), "x_baseline": round(med / base, 2), "passed": passed})
    out = records_data.RESULTS / f"bench-dashboard-{dialect}.json"
    out.write_text(json.dumps({"dialect": dialect, "rounds": args.rounds, "baseline_ms": round(base, 2),
                               "cases": rows}, ensure_ascii=False, indent=1))
    print(f"all targets met: {'yes' if ok else 'NO'}  (details: {out.relative_to(ROOT)})")
    with app.app_context():
        from webapp.extensions import db

        db.engine.dispose()


if __name__ == "__main__":
    main()
