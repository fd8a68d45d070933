"""Benchmark data: a ProcDesk instance with a big git store and a SQLite database with the demo users.

``generate(path)`` builds, under ``path``:

* ``store.git`` — a bare store whose ``main`` has 2,000 procedures of about 8 KB each
  (one commit per procedure, with the publish trailers) and one procedure,
  ``QP-HIST-001``, with 500 versions (A/0 … A/499, each changing a few clauses);
* ``procdesk.db`` — SQLite with the demo departments, projects and users (password
  ``procdesk-demo``), the catalogue already synced;
* ``secret_key`` — so every process serving the instance signs sessions alike.

The commits are written with ``git fast-import`` (a few seconds for 2,500 commits).
Generation is deterministic for given arguments; ``ensure(path, …)`` reuses a previous
build with the same parameters. Other benchmarks can reuse it::

    from bench.data import ensure
    info = ensure("bench/results/data")   # {"instance": ..., "codes": [...], "history_code": ...}

Run directly: ``python bench/data.py [DIR] [--procedures N] [--versions N]``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEPARTMENTS = ("CS", "ENG", "SEC", "ENV", "ADM")
HISTORY_CODE = "QP-HIST-001"
FORMAT = 2  # bump when the generated data changes shape

# Vocabulary for plausible procedure text (property management, ISO 9001 wording).
SUBJECTS = ["客服人员", "项目经理", "工程主管", "保洁领班", "秩序维护员", "客户服务部", "品质管理部", "各项目管理处",
            "值班人员", "维修技工", "文控专员", "部门负责人", "业主委员会", "供方", "绿化组"]
VERBS = ["应当", "负责", "须在规定时限内", "按本规程", "每月", "每季度", "每周", "在接到通知后", "定期", "及时"]
ACTIONS = ["登记顾客投诉并跟踪处理进度", "检查公共区域的清洁质量", "核对设备运行记录", "组织满意度问卷调查",
           "汇总分析顾客意见", "对不合格项采取纠正措施", "回访业主并记录评价结果", "更新应急预案并组织演练",
           "检查消防设施和疏散通道", "审核维修工单的完成情况", "向管理层报告重大投诉", "保存记录并按期归档",
           "培训新员工掌握本规程要求", "评价供方服务质量", "核实收费标准并公示", "巡查电梯和水泵房",
           "统计满意率并与目标比较", "确认整改效果并关闭问题"]
OBJECTS = ["《投诉处理记录表》", "《业主调查表》", "《设备巡检记录》", "《纠正预防措施单》", "《月度汇总表》",
           "ProcDesk 系统", "quality records", "the customer satisfaction log", "《保洁检查表》", "《交接班记录》"]
TAILS = ["，结果报客户服务部备案。", "，发现问题立即上报。", "，记录保存三年。", "，并于次月 3 日前汇总。",
         "，确保满意率不低于 90%。", "，必要时启动纠正预防措施。", "。", "，由项目经理签字确认。"]
HEADINGS = ["目的", "适用范围", "职责", "工作程序", "记录", "相关文件", "质量要求", "检查与考核"]


def _sentence(rng: random.Random) -> str:
    return (rng.choice(SUBJECTS) + rng.choice(VERBS) + rng.choice(ACTIONS) + "，使用" + rng.choice(OBJECTS)
            + rng.choice(TAILS))


def procedure_body(rng: random.Random, size: int = 8192) -> str:
    """A Markdown body of roughly ``size`` UTF-8 bytes: numbered clauses, a table, a list."""
    parts: list[str] = []
    n = 0
    section = 0
    while n < size:
        section += 1
        heading = HEADINGS[(section - 1) % len(HEADINGS)]
        parts.append(f"## {section}.0 {heading}\n")
        for sub in range(1, rng.randint(3, 6)):
            clause = f"{section}.{sub} " + "".join(_sentence(rng) for _ in range(rng.randint(1, 3)))
            parts.append(clause + "\n")
        if section % 3 == 0:
            parts.append("| 岗位 | 职责 | 时限 |\n|---|---|---|\n" + "".join(
                f"| {rng.choice(SUBJECTS)} | {rng.choice(ACTIONS)} | {rng.randint(1, 30)} 天 |\n" for _ in range(4)))
        if section % 4 == 0:
            parts.append("".join(f"- {_sentence(rng)}\n" for _ in range(3)))
        n = sum(len(p.encode()) + 1 for p in parts)
    return "\n".join(parts)


def front_matter(code: str, title: str, departments, version: str, effective: date) -> str:
    return (f"---\ncode: {code}\ntitle: {title}\ndepartments: [{', '.join(departments)}]\nversion: {version}\n"
            f"effective: {effective.isoformat()}\nreview_months: 6\nstatus: effective\nowner: controller\n---\n")


def _message(code: str, version: str, effective: date, summary: str) -> str:
    return (f"{code} {version}: {summary}\n\n{summary}\n\nProcedure: {code}\nVersion: {version}\n"
            f"Effective: {effective.isoformat()}\nApproved-by: 总经理 陈志远 <manager@example.com>\n")


def _mutate(rng: random.Random, body: str, edits: int = 4) -> str:
    """A new version: a few clauses reworded, sometimes one added and one removed."""
    lines = body.split("\n")
    clause_idx = [i for i, line in enumerate(lines) if line[:1].isdigit()]
    for i in rng.sample(clause_idx, min(edits, len(clause_idx))):
        number = lines[i].split(" ", 1)[0]
        lines[i] = number + " " + "".join(_sentence(rng) for _ in range(rng.randint(1, 2)))
    if rng.random() < 0.3 and clause_idx:
        del lines[rng.choice(clause_idx)]
    if rng.random() < 0.3:
        at = rng.choice(clause_idx) if clause_idx else len(lines)
        lines.insert(at, "（补充）" + _sentence(rng))
    return "\n".join(lines)


def _fast_import_stream(procedures: int, versions: int, size: int, seed: int):
    """Yield the bytes of a fast-import stream, plus (codes) through the returned list."""
    rng = random.Random(seed)
    author = "文控 周敏 <controller@example.com>"
    when = 1_700_000_000
    mark = 0
    codes: list[str] = []

    def commit(path: str, content: str, message: str) -> bytes:
        nonlocal mark, when
        mark += 1
        when += 60
        msg = message.encode()
        data = content.encode()
        head = (f"commit refs/heads/main\nmark :{mark}\nauthor {author} {when} +0000\n"
                f"committer {author} {when} +0000\ndata {len(msg)}\n").encode() + msg + b"\n"
        if mark > 1:
            head += f"from :{mark - 1}\n".encode()
        return head + f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n"

    chunks = []
    per_dept = {d: 0 for d in DEPARTMENTS}
    for i in range(procedures):
        dept = DEPARTMENTS[i % len(DEPARTMENTS)]
        per_dept[dept] += 1
        code = f"QP-{dept}-{per_dept[dept]:04d}"
        codes.append(code)
        title = f"{rng.choice(ACTIONS)}作业规程"
        effective = date(2025, 1, 1) + timedelta(days=rng.randint(0, 600))
        text = front_matter(code, title, (dept,), "A/0", effective) + procedure_body(rng, size)
        chunks.append(commit(f"{code}.md", text, _message(code, "A/0", effective, "首次发布")))
    body = procedure_body(rng, size)
    for v in range(versions):
        effective = date(2012, 1, 1) + timedelta(days=7 * v)
        if v:
            body = _mutate(rng, body)
        text = front_matter(HISTORY_CODE, "维修服务作业规程", ("ENG", "CS"), f"A/{v}", effective) + body
        chunks.append(commit(f"{HISTORY_CODE}.md", text,
                             _message(HISTORY_CODE, f"A/{v}", effective, f"第 {v + 1} 次修订：调整维修时限与记录要求")))
    return b"".join(chunks) + b"done\n", codes


def generate(path: str | Path, *, procedures: int = 2000, versions: int = 500, size: int = 8192,
             seed: int = 20261127) -> dict:
    """Build the instance under ``path`` (replacing what is there); returns its description."""
    path = Path(path).resolve()
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    t0 = time.perf_counter()
    store = path / "store.git"
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(store)], check=True)
    stream, codes = _fast_import_stream(procedures, versions, size, seed)
    subprocess.run(["git", "--git-dir", str(store), "fast-import", "--quiet"], input=stream, check=True)
    subprocess.run(["git", "--git-dir", str(store), "commit-graph", "write", "--reachable", "--changed-paths"],
                   check=True, capture_output=True)
    t_git = time.perf_counter() - t0
    (path / "secret_key").write_text(os.urandom(32).hex())

    from webapp import create_app
    from webapp.extensions import db

    app = create_app({"INSTANCE_PATH": str(path), "DATABASE_URL": f"sqlite:///{path / 'procdesk.db'}",
                      "REPO_STORE_PATH": str(store), "ENV": "development"})
    with app.app_context():
        db.create_all()
        from accounts import demo as accounts_demo

        accounts_demo.load_demo()
        db.session.commit()
        t1 = time.perf_counter()
        from procedures import catalog

        added = catalog.sync(commit=True)
        t_sync = time.perf_counter() - t1
        db.engine.dispose()
    info = {
        "format": FORMAT, "procedures": procedures, "versions": versions, "size": size, "seed": seed,
        "instance": str(path), "store": str(store), "database": f"sqlite:///{path / 'procdesk.db'}",
        "codes": codes, "history_code": HISTORY_CODE, "versions_synced": added,
        "seconds": {"git": round(t_git, 2), "first_sync": round(t_sync, 2),
                    "total": round(time.perf_counter() - t0, 2)},
    }
    (path / "bench-data.json").write_text(json.dumps(info, ensure_ascii=False, indent=1))
    return info


def ensure(path: str | Path, **params) -> dict:
    """Reuse the instance at ``path`` if it was generated with the same parameters, else generate it."""
    path = Path(path)
    meta = path / "bench-data.json"
    wanted = {"procedures": 2000, "versions": 500, "size": 8192, "seed": 20261127, **params}
    if meta.exists():
        info = json.loads(meta.read_text())
        if info.get("format") == FORMAT and all(info.get(k) == v for k, v in wanted.items()):
            return info
    return generate(path, **wanted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("path", nargs="?", default=str(ROOT / "bench" / "results" / "data"))
    parser.add_argument("--procedures", type=int, default=2000)
    parser.add_argument("--versions", type=int, default=500)
    args = parser.parse_args()
    info = generate(args.path, procedures=args.procedures, versions=args.versions)
    print(json.dumps({k: v for k, v in info.items() if k != "codes"}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
