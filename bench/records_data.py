"""Benchmark data for the satisfaction records: 200 projects, 100,000 survey responses and
1,000,000 complaint/praise/suggestion register entries over three years.

The schema is the app's own (``db.create_all()``); rows are generated deterministically and
bulk loaded: SQLite with ``executemany`` in big transactions (indexes built after the load),
PostgreSQL with ``COPY … FROM STDIN`` through psycopg. The register rows are consistent with
the life cycle (deadlines from the default settings, acknowledgements, resolutions, follow-ups
including dissatisfied ones that were reopened, voids), numbered like the app numbers them.

Generated databases are cached under ``bench/results/`` keyed by ``VERSION`` and the sizes:

* SQLite: ``bench/results/records-<key>.sqlite``
* PostgreSQL: schema ``records_<key>`` in the database named by the URL

``ensure(db_url=None)`` returns ``{"url", "engine_options", "anchor", …}`` for ``create_app``,
generating only when the cache is missing. Run directly to (re)build:
``python bench/records_data.py [--db postgresql+psycopg://postgres@127.0.0.1:5432/test] [--force]``.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from bisect import bisect
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
VERSION = 2  # bump when the generated data changes shape (2: rating scales, action roles, dashboard index)
PASSWORD = "bench-password-1"  # noqa: S105 — throwaway benchmark users
PROJECTS = 200
RESPONSES = 100_000
ENTRIES = 1_000_000
CARING = 60_000
YEARS = 3
SEED = 20261127

DESCRIPTIONS = [
    "卫生间天花板渗水", "楼道灯不亮", "电梯经常停运", "垃圾清运不及时", "地下车库照明不足", "外墙瓷砖脱落",
    "夜间噪音扰民", "绿化带杂草多", "门禁卡失灵", "快递车辆随意进出", "水压偏低", "停车位被占用",
    "物业费账单有疑问", "装修审批太慢", "楼上漏水", "宠物粪便无人清理", "消防通道被堵", "监控录像缺失",
    "保安态度差", "报修无人回复", "游泳池水质差", "空调外机噪音", "化粪池异味", "窗户玻璃破损",
]
PRAISE = ["保安帮忙送老人就医", "维修师傅半夜抢修水管", "保洁阿姨认真负责", "客服帮忙找回钥匙", "春节安保值守到位"]
SUGGEST = ["增加遮阳棚", "增设电动车充电桩", "开通线上缴费", "垃圾分类点增加洗手池", "公示维修计划"]
CAUSES = ["设备老化", "人员不足", "流程环节过多", "外包单位未按标准作业", "巡查不到位"]
TAKEN = ["更换设备并加强巡检", "增加人手并调整排班", "简化流程", "约谈外包单位并考核", "增加巡查频次"]
CATEGORY_CODES = ["security", "environment", "maintenance", "customer_service", "other"]
# Default deadlines (hours): respond, resolve.
DEADLINES = {"normal": (48, 168), "urgent": (2, 24), "major": (2, 24)}


def set_size(entries: int) -> None:
    """Scale the register (e.g. a quick trial run); the cache key follows."""
    global ENTRIES
    ENTRIES = entries


def cache_key() -> str:
    return f"v{VERSION}_{PROJECTS}p_{ENTRIES // 1000}k_{RESPONSES // 1000}k"


# ---------------------------------------------------------------------------------------------
# bulk loading


class Loader:
    """Bulk-insert rows (tuples in ``columns`` order) into a table of the app's metadata."""

    def __init__(self, engine):
        self.engine = engine
        self.dialect = engine.dialect.name

    def load(self, table, columns: list[str], rows, batch: int = 50_000) -> int:
        conv = [self._converter(table.c[name].type) for name in columns]
        n = 0
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            if self.dialect == "postgresql":
                cols = ", ".join(f'"{c}"' for c in columns)
                with cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row([f(v) if v is not None else None for f, v in zip(conv, row, strict=True)])
                        n += 1
            else:
                sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
                chunk = []
                for row in rows:
                    chunk.append([f(v) if v is not None else None for f, v in zip(conv, row, strict=True)])
                    if len(chunk) >= batch:
                        cur.executemany(sql, chunk)
                        n += len(chunk)
                        chunk = []
                if chunk:
                    cur.executemany(sql, chunk)
                    n += len(chunk)
            raw.commit()
        finally:
            raw.close()
        return n

    def _converter(self, type_):
        from sqlalchemy import JSON, Boolean, Date

        from webapp.db import UTCDateTime

        if isinstance(type_, UTCDateTime):
            if self.dialect == "sqlite":
                return lambda v: v.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite storage format
            return lambda v: v
        if isinstance(type_, JSON):
            return lambda v: json.dumps(v)
        if isinstance(type_, Boolean) and self.dialect == "sqlite":
            return int
        if isinstance(type_, Date) and self.dialect == "sqlite":
            return lambda v: v.isoformat()
        return lambda v: v


# ---------------------------------------------------------------------------------------------
# generation


def _register_rows(rng: random.Random, projects: list[tuple[int, str, int]], cat_ids: dict[str, int],
                   handler_ids: list[int], anchor: datetime, counters: dict[str, int]):
    """Yield complaint rows in time order (ids grow with time, as in real use)."""
    span = YEARS * 365 * 86400
    start = anchor - timedelta(seconds=span)
    weights = list(accumulate(p[2] for p in projects))  # bigger estates get more entries
    total_w = weights[-1]
    offsets = sorted(rng.random() * (span - 3600) for _ in range(ENTRIES))
    cats = [cat_ids[c] for c in CATEGORY_CODES]
    cat_w = list(accumulate([18, 30, 34, 12, 6]))
    channels = ["letter", "visit", "phone", "online", "committee"]
    ch_w = list(accumulate([6, 22, 45, 24, 3]))
    hour = timedelta(hours=1)
    day = timedelta(days=1)
    rnd = rng.random
    for i, off in enumerate(offsets, start=1):
        t = start + timedelta(seconds=off)
        pid, pcode, _hh = projects[bisect(weights, rnd() * total_w)]
        r = rnd()
        kind = "complaint" if r < 0.80 else ("praise" if r < 0.92 else "suggestion")
        prefix = {"complaint": "TS", "praise": "BY", "suggestion": "JY"}[kind]
        scope = f"{prefix}-{pcode}-{(t + timedelta(hours=8)).year}"
        seq = counters.get(scope, 0) + 1
        counters[scope] = seq
        channel = channels[bisect(ch_w, rnd() * ch_w[-1])]
        category = cats[bisect(cat_w, rnd() * cat_w[-1])]
        building = f"{1 + int(rnd() * 30)}栋"
        room = f"{1 + int(rnd() * 32):02d}{1 + int(rnd() * 6):02d}"
        handler = handler_ids[int(rnd() * len(handler_ids))]
        status = "received"
        ack = res = fu = fu_by = closed = None
        cause = taken = feedback = ""
        verdict = None
        reopen = 0
        rd = sd = None
        severity = "normal"
        if kind == "complaint":
            r = rnd()
            severity = "normal" if r < 0.86 else ("urgent" if r < 0.97 else "major")
            rh, sh = DEADLINES[severity]
            rd, sd = t + rh * hour, t + sh * hour
            description = DESCRIPTIONS[int(rnd() * len(DESCRIPTIONS))]
            # Stage reached, if time allows: 1 ack, 2 start, 3 resolve, 4 follow-up, 5 close.
            ack_t = t + rh * hour * (rnd() * 0.95 if rnd() < 0.93 else 1.05 + rnd() * 2)
            res_t = ack_t + hour + sh * hour * (rnd() * 0.85 if rnd() < 0.88 else 1.1 + rnd() * 1.5)
            fu_t = res_t + day * (0.5 + rnd() * 2.5)
            close_t = fu_t + hour * (1 + rnd() * 20)
            stop = 5 if rnd() < 0.97 else int(rnd() * 4) + 1  # a few stall on the way
            if ack_t < anchor:
                status, ack = "acknowledged", ack_t
                if stop >= 2 and ack_t + hour < anchor:
                    status = "in_progress"
                    if stop >= 3 and res_t < anchor:
                        status, res = "resolved", res_t
                        cause, taken = CAUSES[int(rnd() * 5)], TAKEN[int(rnd() * 5)]
                        if stop >= 4 and fu_t < anchor:
                            r = rnd()
                            verdict = "satisfied" if r < 0.86 else ("neutral" if r < 0.95 else "dissatisfied")
                            fu, fu_by, feedback = fu_t, handler, "电话回访告知处理结果"
                            status = "followed_up"
                            if verdict == "dissatisfied":
                                # Reopened; usually handled again and followed up satisfied later.
                                reopen = 1
                                res2 = fu_t + day * (1 + rnd() * 4)
                                fu2 = res2 + day * (1 + rnd() * 2)
                                if fu2 < anchor:
                                    res, fu, verdict = res2, fu2, "satisfied"
                                    close_t = fu2 + hour * 3
                                else:
                                    status, res = "in_progress", None
                            if status == "followed_up" and stop >= 5 and close_t < anchor:
                                status, closed = "closed", close_t
        else:
            description = (PRAISE if kind == "praise" else SUGGEST)[int(rnd() * 5)]
            ack_t = t + hour * (1 + rnd() * 30)
            if ack_t < anchor:
                status, ack = "acknowledged", ack_t
                if ack_t + day < anchor and rnd() < 0.95:
                    status, closed = "closed", ack_t + day
        voided = rnd() < 0.005
        last = closed or fu or res or ack or t
        yield (
            i, f"{scope}-{seq:04d}", kind, channel, t, pid, building, room, "", "", category, severity,
            f"{building}{room} {description}", handler, None, status, rd, sd, ack, res, cause, taken, fu, fu_by,
            feedback, verdict, "", closed, reopen, t, None, last, 1,
            t + hour if voided else None, "重复登记" if voided else "",
        )


REGISTER_COLUMNS = [
    "id", "number", "kind", "channel", "received_at", "project_id", "building", "room", "contact_name",
    "contact_phone", "category_id", "severity", "description", "handler_id", "department_id", "status",
    "respond_due", "resolve_due", "acknowledged_at", "resolved_at", "cause", "action_taken", "followed_up_at",
    "followed_up_by_id", "feedback_given", "handling_satisfaction", "follow_up_notes", "closed_at", "reopen_count",
    "created_at", "created_by_id", "updated_at", "version", "voided_at", "void_reason",
]


def generate(url: str, engine_options: dict, *, seed: int = SEED) -> dict:
    """Create the schema and load everything into the (empty) database at ``url``."""
    from sqlalchemy import func, insert, select

    from webapp import create_app
    from webapp.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix="records-bench-"))
    app = create_app({"DATABASE_URL": url, "SQLALCHEMY_ENGINE_OPTIONS": engine_options, "SECRET_KEY": "bench",
                      "INSTANCE_PATH": str(tmp / "i"), "REPO_STORE_PATH": str(tmp / "store.git"), "ENV": "testing"})
    rng = random.Random(seed)
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with app.app_context():
        from accounts.models import Project, User, user_projects
        from accounts.services import UserData, create_user, ensure_default_roles, hash_password
        from satisfaction.categories import ensure_default_categories
        from satisfaction.complaints.models import Complaint, ComplaintSequence
        from satisfaction.models import ServiceCategory

        db.create_all()
        ensure_default_roles()
        ensure_default_categories()
        db.session.commit()
        db.session.execute(insert(Project), [
            {"code": f"P-{i:03d}", "name": f"项目{i:03d}", "name_en": f"Estate {i:03d}", "address": "",
             "households": rng.randint(200, 3000), "active": True} for i in range(1, PROJECTS + 1)])
        pw = hash_password(PASSWORD)
        db.session.execute(insert(User), [
            {"login": f"staff{i:03d}", "display_name": f"员工{i:03d}", "email": "", "password_hash": pw,
             "active": True, "session_nonce": f"{i:016x}", "created_at": anchor} for i in range(1, 401)])
        db.session.commit()
        projects = [tuple(r) for r in db.session.execute(
            select(Project.id, Project.code, Project.households).order_by(Project.id)).all()]
        staff = list(db.session.execute(select(User.id).where(User.login.like("staff%")).order_by(User.id)).scalars())
        db.session.execute(insert(user_projects), [{"user_id": uid, "project_id": projects[n // 2][0]}
                                                   for n, uid in enumerate(staff)])
        create_user(UserData(login="mgr", display_name="经理", password=PASSWORD, role_codes=("manager", "clerk")))
        create_user(UserData(login="clerk", display_name="文员", password=PASSWORD, role_codes=("clerk",),
                             project_codes=("P-001", "P-002")))
        cat_ids = dict(db.session.execute(select(ServiceCategory.code, ServiceCategory.id)).all())
        db.session.commit()
        timings["reference"] = time.perf_counter() - t0

        loader = Loader(db.engine)
        table = Complaint.__table__
        # Indexes are built after the load: much faster than maintaining them row by row.
        indexes = [ix for ix in table.indexes]
        for ix in indexes:
            ix.drop(db.engine)
        counters: dict[str, int] = {}
        t1 = time.perf_counter()
        n = loader.load(table, REGISTER_COLUMNS, _register_rows(rng, projects, cat_ids, staff, anchor, counters))
        timings["register_load"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        for ix in indexes:
            ix.create(db.engine)
        timings["register_indexes"] = time.perf_counter() - t1
        loader.load(ComplaintSequence.__table__, ["scope", "last_value"], iter(sorted(counters.items())))
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('complaints', 'id'), "
                                     "(SELECT max(id) FROM complaints))")

        t1 = time.perf_counter()
        _load_surveys(loader, rng, projects, cat_ids, staff, anchor)
        timings["surveys"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        _load_caring(loader, rng, projects, staff, anchor)
        timings["caring"] = time.perf_counter() - t1
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        count = db.session.execute(select(func.count()).select_from(Complaint)).scalar()
        db.session.remove()
        db.engine.dispose()
    timings["total"] = time.perf_counter() - t0
    return {"entries": count, "loaded": n, "anchor": anchor.isoformat(), "projects": PROJECTS,
            "responses": RESPONSES, "seconds": {k: round(v, 1) for k, v in timings.items()}}


def _load_surveys(loader: Loader, rng: random.Random, projects, cat_ids, staff, anchor) -> None:
    """One campaign per project and year; 100,000 returned forms with a rating per category."""
    try:
        from satisfaction.surveys.models import SurveyAnswer, SurveyCampaign, SurveyResponse
    except ImportError:  # the surveys package is not there: nothing to load
        return
    cats = [cat_ids[c] for c in CATEGORY_CODES[:4]]
    campaigns = []
    cid = 0
    for pid, _code, households in projects:
        for y in range(YEARS):
            cid += 1
            year = anchor.year - YEARS + 1 + y
            campaigns.append((cid, pid, year, "", f"{pid}:{year}:", households, int(households * 0.93),
                              anchor.replace(year=year, month=6, day=1).date(), cats, "closed", anchor, None, anchor,
                              1, None, ""))
    loader.load(SurveyCampaign.__table__,
                ["id", "project_id", "year", "period", "slot", "households", "distributed", "distributed_on",
                 "category_ids", "status", "created_at", "created_by_id", "updated_at", "version", "voided_at",
                 "void_reason"], iter(campaigns))

    def responses():
        for rid in range(1, RESPONSES + 1):
            camp = campaigns[int(rng.random() * len(campaigns))]
            overall = 5 if rng.random() < 0.55 else (4 if rng.random() < 0.7 else rng.randint(1, 3))
            yield (rid, camp[0], f"{rng.randint(1, 30)}-{rng.randint(101, 3206)}", overall, "", "paper", None,
                   anchor, staff[0], None, "")

    loader.load(SurveyResponse.__table__,
                ["id", "campaign_id", "room", "overall", "comments", "source", "batch", "entered_at", "entered_by_id",
                 "voided_at", "void_reason"], responses())

    def answers():
        for rid in range(1, RESPONSES + 1):
            for cat in cats:
                yield (rid, cat, 5 if rng.random() < 0.5 else rng.randint(1, 5))

    loader.load(SurveyAnswer.__table__, ["response_id", "category_id", "rating"], answers())
    if loader.dialect == "postgresql":
        with loader.engine.begin() as conn:
            for table in ("survey_campaigns", "survey_responses"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")


def _load_caring(loader: Loader, rng: random.Random, projects, staff, anchor) -> None:
    try:
        from satisfaction.caring.models import CaringService
    except ImportError:
        return
    start = (anchor - timedelta(days=YEARS * 365)).date()

    def rows():
        for i in range(1, CARING + 1):
            pid = projects[int(rng.random() * len(projects))][0]
            yield (i, pid, start + timedelta(days=int(rng.random() * YEARS * 365)), staff[(pid - 1) * 2 % len(staff)],
                   "1栋101", "代收快递", 15, "", anchor, None, anchor if i % 40 == 0 else None, "")

    loader.load(CaringService.__table__,
                ["id", "project_id", "served_on", "staff_id", "household", "service", "minutes", "owner_comment",
                 "created_at", "created_by_id", "voided_at", "void_reason"], rows())
    if loader.dialect == "postgresql":
        with loader.engine.begin() as conn:
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('caring_services', 'id'), "
                                 "(SELECT max(id) FROM caring_services))")


# ---------------------------------------------------------------------------------------------
# the cache


def _pg_target(db_url: str) -> tuple[str, dict, str]:
    schema = f"records_{cache_key()}"
    return db_url, {"connect_args": {"options": f"-csearch_path={schema}"}}, schema


def ensure(db_url: str | None = None, *, force: bool = False) -> dict:
    """The cached data set for ``db_url`` (PostgreSQL server) or SQLite; generated when missing."""
    import sqlalchemy as sa

    RESULTS.mkdir(parents=True, exist_ok=True)
    key = cache_key()
    if db_url and db_url.startswith("postgresql"):
        url, options, schema = _pg_target(db_url)
        meta_path = RESULTS / f"records-{key}-pg.json"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"),
                                  {"s": schema}).first() is not None
            if exists and (force or not meta_path.exists()):
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                exists = False
            if not exists:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    else:
        path = RESULTS / f"records-{key}.sqlite"
        url, options, schema = f"sqlite:///{path}", {}, None
        meta_path = RESULTS / f"records-{key}-sqlite.json"
        exists = path.exists() and meta_path.exists() and not force
        if not exists:
            for p in (path, Path(str(path) + "-wal"), Path(str(path) + "-shm")):
                p.unlink(missing_ok=True)
    if exists and meta_path.exists():
        info = json.loads(meta_path.read_text())
    else:
        print(f"generating records data set {key} ({'PostgreSQL' if schema else 'SQLite'}) …", flush=True)
        info = generate(url, options)
        info["key"] = key
        meta_path.write_text(json.dumps(info, ensure_ascii=False, indent=1))
        print(f"  done in {info['seconds']['total']} s: {info['seconds']}", flush=True)
    return {**info, "url": url, "engine_options": options, "schema": schema}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite file under bench/results)")
    parser.add_argument("--force", action="store_true", help="regenerate even when cached")
    parser.add_argument("--entries", type=int, default=ENTRIES, help="register entries (default 1,000,000)")
    args = parser.parse_args()
    set_size(args.entries)
    info = ensure(args.db, force=args.force)
    print(json.dumps({k: v for k, v in info.items() if k != "engine_options"}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
