"""Benchmark data for the review workflow: the ``bench/data.py`` instance plus 500 open reviews.

``generate(path)`` copies the cached 2,000-procedure instance (``bench/data.py``) to ``path`` and
adds, through the workflow services (so every row is what the app itself writes: timeline, audit,
notices, draft commits on ``reviews/<number>`` branches):

* ``open_reviews`` open reviews (default 500), each covering one or two procedures of one
  department, periodic (from the schedule) or incident (a person's request), with the chair
  (``controller``) and the four participant categories (``manager``, ``depthead``, ``frontline``,
  ``custrep``); six in ten have one to three draft commits by participants; each has ``comments``
  comments (default 20): a quarter replies, about a third of the roots anchored on a clause (some
  with a quote) of the draft commit they were written on, some resolved; then spread over the
  steps propose / discuss / decide (a third of those in decide carry a management approval);
* ``pool`` one-procedure reviews (default 80) prepared up to the implement step — draft saved,
  comments, signed (approved) by management and the department head with their passwords,
  decided ``revise`` — for the benchmark to implement, one per request. They come on top of the
  500, so the dashboard always lists at least 500 open reviews.

The SQLite database is written with ``synchronous=OFF`` during the build (one build, many
commits; the pragma is not stored in the file). Cached like ``bench/data.py``: ``ensure(path)``
reuses a build with the same parameters and the same workflow models (about 3–5 minutes on two
busy cores); ``info["targets"]`` lists the open reviews with a valid anchor for a new comment and
``info["pool"]`` the reviews ready to implement (number, code, version).

Run directly: ``python bench/reviews_data.py [DIR] [--force]``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import data as base_data  # noqa: E402

FORMAT = 1  # bump when the generated data changes shape
CHAIR = "controller"
#: The demo users taking part, by participant category (the chair takes part too).
PARTICIPANTS = {"manager": "management", "depthead": "dept_head", "frontline": "frontline", "custrep": "customer_rep"}
#: Files whose change makes a cached build stale (the tables it fills).
MODEL_FILES = ("workflow/models.py", "notifications/models.py", "procedures/models.py", "audit/models.py")

COMMENTS = ["这一条的回访时限是否需要从三日缩短为两日？", "建议与《投诉处理记录表》的栏目保持一致。",
            "现场执行中经常遇到业主不在家的情况，请补充处理办法。", "同意修改，但需要同步培训新员工。",
            "这里的“及时”请写明具体时限。", "夜间值班人员无法完成这一步，建议交由次日早班处理。",
            "The satisfaction target of 90% should be measured per project, not company-wide.",
            "供方评价的频次建议改为每季度一次。", "已与工程部确认，可以按草稿执行。", "请补充记录的保存期限。",
            "业委会希望在公示栏同时公布整改结果。", "Please keep the English term “quality records” consistent.",
            "这个表格的职责分工与第 3 章重复。", "建议删去本条，已由新的应急预案覆盖。"]
REPLIES = ["同意。", "已在草稿中修改，请再看一下。", "这个问题下次评审会议讨论。", "收到，我来补充。",
           "@controller 请主持人决定。", "Agreed, updated in the draft.", "保留原条款更稳妥。"]


@dataclass(frozen=True)
class Proc:
    title: str
    departments: list
    next_review: date


def fingerprint() -> str:
    """A digest of the model files, so a schema change rebuilds the cached data set."""
    digest = hashlib.sha256()
    for name in MODEL_FILES:
        p = ROOT / name
        digest.update(p.read_bytes() if p.exists() else b"-")
    return digest.hexdigest()[:16]


def _revised(rng: random.Random, text: str) -> str:
    """A participant's edit: a few clauses reworded, sometimes one added or removed (``bench/data.py``)."""
    head, sep, body = text.partition("\n---\n")
    new = sep and head + sep + base_data._mutate(rng, body, edits=rng.randint(1, 3))
    return new if new and new != text else text.rstrip("\n") + f"\n\n9.{rng.randint(1, 99)} " + \
        base_data._sentence(rng) + "\n"


def _anchor_target(rng: random.Random, text: str) -> tuple[str, str] | None:
    """A clause number of ``text`` and a short quote from that clause (for an anchored comment)."""
    from workflow import anchors

    numbered = [c for c in anchors.clauses(text) if c.number and len(c.text) > 40 and not c.text.startswith("#")]
    if not numbered:
        return None
    clause = rng.choice(numbered)
    body = clause.text[len(clause.number):].strip()
    start = rng.randint(0, max(0, min(20, len(body) - 16)))
    return clause.number, body[start:start + 12].strip()


def _comment(rng: random.Random, review, author, roots: list, anchored_share: float = 0.35):
    """One comment through the service: a reply, an anchored root comment, or a plain root comment."""
    from workflow import discussion, drafts

    if roots and rng.random() < 0.25:
        return discussion.comment(review, rng.choice(REPLIES), actor=author, parent_id=rng.choice(roots).id)
    body = rng.choice(COMMENTS)
    if rng.random() < anchored_share:
        code = rng.choice(review.codes)
        target = _anchor_target(rng, drafts.draft_file(review, code).markdown)
        if target:
            clause, quote = target
            row = discussion.comment(review, body, actor=author, code=code, clause=clause,
                                     quote=quote if rng.random() < 0.5 else None)
            roots.append(row)
            return row
    row = discussion.comment(review, body, actor=author)
    roots.append(row)
    return row


def _save_draft(rng: random.Random, review, author) -> str:
    from workflow import drafts

    code = rng.choice(review.codes)
    text = drafts.draft_file(review, code).markdown
    return drafts.save(review, code, _revised(rng, text), actor=author, parent=drafts.tip(review),
                       summary=rng.choice(["补充回访要求", "调整检查频次", "统一记录表名称", "Clarify the time limits",
                                           "删除重复条款", "按业委会意见修改"]))


def _open(service, users, codes, *, kind: str, index: int, today: date, procs: dict):
    first = procs[codes[0]]
    people = {users[login]: category for login, category in PARTICIPANTS.items()}
    opened = datetime.now(UTC) - timedelta(days=60 - index % 60, hours=index % 24)
    if kind == "periodic":
        trigger = service.TriggerData(source_type="schedule", label=f"{first.next_review:%Y-%m}")
        return service.open_review(kind=kind, codes=codes, chair=users[CHAIR], actor=users[CHAIR], trigger=trigger,
                                   participants=people, due_on=first.next_review, department=first.departments[0],
                                   schedule_key=f"bench:{codes[0]}:{first.next_review}", now=opened)
    trigger = service.TriggerData(source_type="person", label=users[CHAIR].display_name,
                                  reason=f"投诉反映{first.title}执行不到位（基准数据 {index}）")
    return service.open_review(kind=kind, codes=codes, chair=users[CHAIR], actor=users[CHAIR], trigger=trigger,
                               participants=people, due_on=today + timedelta(days=30 + index % 30), now=opened)


def _code_groups(rng: random.Random, codes: list[str], open_reviews: int, pool: int):
    """Disjoint groups: ``open_reviews`` of one or two codes of one department, then ``pool`` single codes."""
    by_dept: dict[str, list[str]] = {}
    for code in codes:
        by_dept.setdefault(code.split("-")[1], []).append(code)
    for lst in by_dept.values():
        rng.shuffle(lst)
    depts = sorted(by_dept)
    groups = []
    for i in range(open_reviews + pool):
        lst = by_dept[depts[i % len(depts)]]
        n = 2 if i < open_reviews and rng.random() < 0.35 else 1
        groups.append([lst.pop() for _ in range(n)])
    return groups[:open_reviews], [g[0] for g in groups[open_reviews:]]


def generate(path: str | Path, *, open_reviews: int = 500, comments: int = 20, pool: int = 80,
             seed: int = 20261130, base: str | Path | None = None) -> dict:
    """Build the data set under ``path`` (replacing what is there); returns its description."""
    path = Path(path).resolve()
    info0 = base_data.ensure(base or ROOT / "bench" / "results" / "data")
    building = path.with_name(path.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    shutil.copytree(info0["instance"], building, ignore=shutil.ignore_patterns("bench-data.json", "*-wal", "*-shm"))
    t0 = time.perf_counter()
    from sqlalchemy import event, select

    from accounts.demo import DEMO_PASSWORD as PASSWORD
    from accounts.models import User
    from procedures.models import Procedure
    from webapp import create_app, dates
    from webapp.extensions import db
    from workflow import deciding, discussion, drafts, service, signoffs

    app = create_app({"INSTANCE_PATH": str(building), "DATABASE_URL": f"sqlite:///{building / 'procdesk.db'}",
                      "REPO_STORE_PATH": str(building / "store.git"), "ENV": "development"})
    rng = random.Random(seed)
    targets, prepared = [], []
    counts = {"draft_commits": 0, "comments": 0, "anchored": 0, "replies": 0, "resolved": 0, "signoffs": 0}
    with app.test_request_context("/"):
        event.listen(db.engine, "connect", lambda conn, _rec: conn.execute("PRAGMA synchronous=OFF"))
        db.engine.dispose()  # connections opened at start-up get the pragma too
        db.create_all()  # tables added since the base instance was built
        users = {u.login: u for u in db.session.scalars(select(User).where(
            User.login.in_([CHAIR, *PARTICIPANTS])))}
        missing = {CHAIR, *PARTICIPANTS} - set(users)
        if missing:
            raise RuntimeError(f"demo users missing in the base instance: {sorted(missing)}")
        # Plain values: ORM objects kept here would be expired and reloaded at every commit.
        procs = {code: Proc(title, deps, nxt) for code, title, deps, nxt in db.session.execute(
            select(Procedure.code, Procedure.title, Procedure.departments, Procedure.next_review))}
        today = dates.local_today()
        groups, pool_codes = _code_groups(rng, [c for c in info0["codes"] if c in procs], open_reviews, pool)
        people = [users[CHAIR], *(users[login] for login in PARTICIPANTS)]
        editors = [users["frontline"], users["depthead"], users["manager"], users[CHAIR]]

        def discuss(review, n: int, roots: list) -> None:
            for _ in range(n):
                row = _comment(rng, review, rng.choice(people), roots)
                counts["comments"] += 1
                counts["replies"] += row.parent_id is not None
                counts["anchored"] += row.code is not None

        for i, codes in enumerate(groups):
            review = _open(service, users, codes, kind="periodic" if i % 3 else "incident", index=i, today=today,
                           procs=procs)
            roots: list = []
            saves = rng.randint(1, 3) if rng.random() < 0.6 else 0
            discuss(review, comments // 2, roots)
            for _ in range(saves):
                _save_draft(rng, review, rng.choice(editors))
                counts["draft_commits"] += 1
            discuss(review, comments - comments // 2, roots)
            for root in rng.sample(roots, k=len(roots) // 8):
                discussion.set_resolved(review, root.id, True, actor=users[CHAIR])
                counts["resolved"] += 1
            state = ("propose", "discuss", "decide")[min(2, int(rng.random() / 0.34))]
            if state in ("discuss", "decide"):
                service.move(review, "discuss", actor=users[CHAIR])
            if state == "decide":
                service.move(review, "decide", actor=users[CHAIR])
                if rng.random() < 0.33:
                    signoffs.sign(review, actor=users["manager"], meaning="approved", password=PASSWORD,
                                  commit=drafts.tip(review), remote_addr="127.0.0.1")
                    counts["signoffs"] += 1
            code = rng.choice(review.codes)
            anchor = _anchor_target(rng, drafts.draft_file(review, code).markdown)
            targets.append({"number": review.number, "state": state, "codes": review.codes, "code": code,
                            "commit": drafts.tip(review) or "", "clause": anchor[0] if anchor else "",
                            "quote": anchor[1] if anchor else ""})
            if (i + 1) % 50 == 0:
                print(f"  {i + 1} open reviews ({time.perf_counter() - t0:.0f} s)", flush=True)

        for i, code in enumerate(pool_codes):
            review = _open(service, users, [code], kind="incident", index=open_reviews + i, today=today, procs=procs)
            roots = []
            discuss(review, comments // 2, roots)
            _save_draft(rng, review, users["frontline"])
            counts["draft_commits"] += 1
            discuss(review, comments - comments // 2, roots)
            service.move(review, "discuss", actor=users[CHAIR])
            service.move(review, "decide", actor=users[CHAIR])
            head = drafts.tip(review)
            for login in ("manager", "depthead"):
                signoffs.sign(review, actor=users[login], meaning="approved", password=PASSWORD, commit=head,
                              remote_addr="127.0.0.1")
                counts["signoffs"] += 1
            deciding.decide(review, {code: ("revise", "")}, actor=users[CHAIR],
                            summary=f"评审会议同意按草稿修订 {code}：补充回访时限与记录要求。")
            service.move(review, "implement", actor=users[CHAIR])
            prepared.append({"number": review.number, "code": code, "version": review.version})
        print(f"  {len(prepared)} reviews ready to implement ({time.perf_counter() - t0:.0f} s)", flush=True)
        db.session.remove()
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.engine.dispose()

    info = {
        "format": FORMAT, "open_reviews": open_reviews, "comments": comments, "pool": pool, "seed": seed,
        "models": fingerprint(), "base": {k: info0[k] for k in ("procedures", "versions", "size", "seed")},
        "procedures": info0["procedures"], "instance": str(path), "store": str(path / "store.git"),
        "database": f"sqlite:///{path / 'procdesk.db'}", "counts": counts, "targets": targets, "pool_reviews": prepared,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (building / "reviews-data.json").write_text(json.dumps(info, ensure_ascii=False, indent=1))
    shutil.rmtree(path, ignore_errors=True)
    building.rename(path)
    return info


def ensure(path: str | Path, **params) -> dict:
    """Reuse the data set at ``path`` if built with the same parameters and models, else build it."""
    path = Path(path)
    meta = path / "reviews-data.json"
    wanted = {"open_reviews": 500, "comments": 20, "pool": 80, "seed": 20261130, **params}
    if meta.exists():
        info = json.loads(meta.read_text())
        if info.get("format") == FORMAT and info.get("models") == fingerprint() and \
                all(info.get(k) == v for k, v in wanted.items()):
            return info
    return generate(path, **wanted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("path", nargs="?", default=str(ROOT / "bench" / "results" / "reviews"))
    parser.add_argument("--open-reviews", type=int, default=500)
    parser.add_argument("--comments", type=int, default=20)
    parser.add_argument("--pool", type=int, default=80)
    parser.add_argument("--force", action="store_true", help="rebuild even when a matching build is cached")
    args = parser.parse_args()
    params = {"open_reviews": args.open_reviews, "comments": args.comments, "pool": args.pool}
    info = generate(args.path, **params) if args.force else ensure(args.path, **params)
    print(json.dumps({k: v for k, v in info.items() if k not in ("targets", "pool_reviews")}, ensure_ascii=False,
                     indent=1))


if __name__ == "__main__":
    main()
