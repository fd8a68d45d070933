"""Run every benchmark, one after the other, on SQLite and (with --db) PostgreSQL.

Each benchmark prints its own table (medians, ratios to a baseline measured in the same run).
Add a line to ``BENCHMARKS`` when you add a benchmark script: (script, takes --db).

Run: ``python bench/run_all.py [--db postgresql+psycopg://postgres@127.0.0.1:5432/test]``
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent

#: (script in bench/, whether it also runs against PostgreSQL with --db; "only": it needs PostgreSQL)
BENCHMARKS = [
    ("bench_procedures.py", False),
    ("bench_redline.py", False),
    ("bench_publish.py", False),
    ("bench_records.py", True),
    ("bench_surveys.py", True),
    ("bench_reviews.py", False),
    ("bench_dashboard.py", True),
    ("bench_two_instances.py", "only"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="also run the database benchmarks against this PostgreSQL URL")
    args = parser.parse_args()
    failed = 0
    for script, takes_db in BENCHMARKS:
        runs = ([] if takes_db == "only" else [[]]) + ([["--db", args.db]] if args.db and takes_db else [])
        for extra in runs:
            print(f"\n=== {script} {' '.join(extra)}", flush=True)
            failed += subprocess.run([sys.executable, str(BENCH / script), *extra], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
