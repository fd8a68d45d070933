"""The document redline against the line redline it replaced, in one process, in the same run.

What the compare page computes for a pair of versions, before and after issue 12 §3:

* ``line``  — the line redline (``redline.redline`` + character counts + ``render_lines``) and the
  two-column source rows (``redline.side_by_side``), as ``catalog.compare`` did;
* ``block`` — the document redline: ``redline_blocks.compare`` (parse both versions into blocks,
  align, pair, character-level redline inside changed blocks and table cells) + the one-column
  HTML + the side-by-side HTML. The per-process cache of parsed long texts is cleared before
  every run, so each figure is a first comparison.

Cases: the demo's largest procedure (QP-CS-001, A/1 → A/2 and A/0 → A/2) and two consecutive
generated 8 KB versions (``bench/data.py``: clauses, tables, lists). The two ways alternate
``--rounds`` times (default 200) and the medians are compared; the target is block ≤ 2 × line.

Usage: ``python bench/bench_redline.py [--rounds 200]``; results in ``bench/results/redline-<time>.json``.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.data import _mutate, procedure_body  # noqa: E402
from procedures import redline, redline_blocks  # noqa: E402
from procedures.document import parse  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DEMO = ROOT / "procedures" / "demo_content"
TARGET = 2.0


def _line(old: str, new: str) -> None:
    lines = redline.redline(old, new)
    redline.count_chars(lines)
    redline.render_lines(lines)
    tuple(redline.side_by_side(old, new))


def _block(old: str, new: str) -> None:
    redline_blocks._long_runs.clear()
    diff = redline_blocks.compare(old, new)
    diff.inline_html()
    diff.side_by_side_html("A/1", "A/2")


def _cases() -> dict[str, tuple[str, str]]:
    bodies = {v: parse((DEMO / f"QP-CS-001.{v}.md").read_bytes()).body for v in ("A0", "A1", "A2")}
    rng = random.Random(7)
    generated = procedure_body(rng, 8192)
    return {
        "demo QP-CS-001 A/1→A/2": (bodies["A1"], bodies["A2"]),
        "demo QP-CS-001 A/0→A/2": (bodies["A0"], bodies["A2"]),
        "generated 8 KB, consecutive": (generated, _mutate(rng, generated)),
    }


def _time(fn, old: str, new: str) -> float:
    started = time.perf_counter()
    fn(old, new)
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    rows = []
    worst = 0.0
    print(f"{'case':32} {'line ms':>9} {'block ms':>9} {'block/line':>11}   (medians of {args.rounds})")
    for name, (old, new) in _cases().items():
        for fn in (_line, _block):  # warm up
            fn(old, new)
        line_ms, block_ms = [], []
        for _ in range(args.rounds):  # alternate, so both see the same load on the shared cores
            line_ms.append(_time(_line, old, new))
            block_ms.append(_time(_block, old, new))
        line_median, block_median = statistics.median(line_ms), statistics.median(block_ms)
        ratio = block_median / line_median
        worst = max(worst, ratio)
        diff = redline_blocks.compare(old, new)
        rows.append({"case": name, "bytes": [len(old.encode()), len(new.encode())], "line_ms": round(line_median, 3),
                     "block_ms": round(block_median, 3), "ratio": round(ratio, 3), "mode": diff.mode,
                     "changed_blocks": sum(op.op != "equal" for op in diff.ops or ())})
        print(f"{name:32} {line_median:9.2f} {block_median:9.2f} {ratio:10.2f}×")
    verdict = "ok" if worst <= TARGET else "ABOVE TARGET"
    print(f"worst ratio {worst:.2f}× (target ≤ {TARGET:.0f}×): {verdict}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"redline-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps({"rounds": args.rounds, "target": TARGET, "cases": rows}, ensure_ascii=False, indent=2))
    print(f"results: {out.relative_to(ROOT)}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
