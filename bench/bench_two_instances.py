"""Two ProcDesk instances, one PostgreSQL database, one git store, under a mixed load (issue 13, §4).

The production design is several gunicorn workers on several hosts sharing one database and one
store. This script runs it: two gunicorn instances (``-w 2`` each) started as separate "hosts" —
each with its own instance folder and so its own caches — on one fresh PostgreSQL database and
one git store, the demo data loaded once. Client threads then act as a load balancer would,
sending each request to the next instance in turn:

* readers read procedures (list, one procedure, its history) and the complaint register;
* clerks enter survey forms and complaints;
* controllers publish new versions of the *same two* procedures, each from the revision it has
  just read, so they race: every publish is a 201 or a 409 with both sides, nothing else;
* an admin disables a user halfway through (through the real admin form), and that user's very
  next request to *each* instance must be refused.

Afterwards: every acknowledged write (a 201 with an id or a revision) is in the database or on
``main`` (0 lost writes), no answer was a 5xx, the audit chain verifies (``flask audit verify``)
and ``git fsck`` is clean. Then the same load runs again and one instance is killed with
``kill -9`` (master and workers) in the middle: the other keeps serving, every write either of
them acknowledged is there, the store is consistent and a publish still lands afterwards.

The figures are throughput and p99 latency of the two instances beside one instance alone,
measured in the same run with the same clients (on a two-core machine two instances do not add
CPU; the point is that sharing costs little and loses nothing).

Usage: ``python bench/bench_two_instances.py [--duration 20] [--db postgresql+psycopg://postgres@127.0.0.1:5432/test]``
Results: ``bench/results/two-instances-<timestamp>.json``. Exit status 1 when an invariant broke.
"""
from __future__ import annotations

import argparse
import html.parser
import itertools
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_procedures import VENV_BIN, Gunicorn  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PASSWORD = "procdesk-demo"  # noqa: S105 - the demo data's published password
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: The procedures every controller publishes on (so publishes race for the same file).
CONTESTED = ("QP-CS-002", "QP-ENV-001")
READERS, CLERKS, CONTROLLERS = 6, 3, 2
TIMEOUT = 30


# --------------------------------------------------------------------------
# the shared database and store
# --------------------------------------------------------------------------

def _database(base_url: str) -> tuple[str, callable]:
    """A fresh database next to ``base_url``'s; (its URL, a function that drops it)."""
    name = f"procdesk_two_{os.getpid()}_{int(time.time())}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(base_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return url, drop


def _flask(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "flask"), *args], cwd=ROOT, env={**os.environ, "FLASK_APP": "wsgi", **env},
                          capture_output=True, text=True, check=check, timeout=600)


SETUP_SCRIPT = r"""
import json, sys
from sqlalchemy import select
from wsgi import app
from webapp.extensions import db
from accounts.models import Project, User
from accounts.services import UserData, create_token, create_user
from satisfaction.models import ServiceCategory
from satisfaction.surveys.models import SurveyCampaign
with app.app_context():
    victim = create_user(UserData(login="victim", display_name="停用测试", password="procdesk-demo",
                                  role_codes=("reader",), project_codes=(), department_code="CS"))
    tokens = {login: create_token(db.session.execute(select(User).where(User.login == login)).scalar_one(), "bench")
              for login in ("staff", "clerk", "controller")}
    tokens["victim"] = create_token(victim, "bench")
    clerk = db.session.execute(select(User).where(User.login == "clerk")).scalar_one()
    project = sorted(p.code for p in clerk.projects)[0]
    pid = db.session.execute(select(Project.id).where(Project.code == project)).scalar_one()
    campaign = db.session.execute(select(SurveyCampaign.id).where(SurveyCampaign.project_id == pid)
                                  .order_by(SurveyCampaign.id.desc())).scalars().first()
    # The demo campaign's 800 forms would all be entered within seconds (and further forms rightly refused):
    # for the load, the campaign is one of a very large estate.
    bench_campaign = db.session.get(SurveyCampaign, campaign)
    bench_campaign.households = bench_campaign.distributed = 1_000_000
    category = db.session.execute(select(ServiceCategory.code).where(ServiceCategory.active)
                                  .order_by(ServiceCategory.id)).scalars().first()
    db.session.commit()
    json.dump({"tokens": tokens, "project": project, "campaign": campaign, "category": category,
               "victim_id": victim.id}, sys.stdout)
"""


def prepare(work: Path, db_url: str) -> tuple[dict, dict]:
    """Migrate, load the demo, make the bench users' tokens; (env shared by both hosts, facts)."""
    shared = {"DATABASE_URL": db_url, "REPO_STORE_PATH": str(work / "store.git"), "SECRET_KEY": "bench-two-hosts-secret",
              "AUDIT_KEY": "bench-two-hosts-audit-key-0123456789", "PROXY_FIX": "0"}
    setup_env = {**shared, "PROCDESK_INSTANCE_PATH": str(work / "setup")}
    _flask(setup_env, "db", "upgrade")
    _flask(setup_env, "demo", "load")
    out = subprocess.run([str(VENV_BIN / "python"), "-c", SETUP_SCRIPT], cwd=ROOT, env={**os.environ, **setup_env},
                         capture_output=True, text=True, timeout=300)
    if out.returncode:
        raise RuntimeError(f"setting up the bench users failed:\n{out.stderr[-2000:]}")
    return shared, json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------
# the load
# --------------------------------------------------------------------------

class Ledger:
    """What every client saw: one row per request, and every write an instance acknowledged."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: list[tuple[str, str, int, float]] = []  # (kind, host, status, seconds); status 0 = no answer
        self.complaints: set[int] = set()
        self.responses: set[int] = set()
        self.revisions: set[str] = set()
        self.problems: list[str] = []

    def add(self, kind: str, host: str, status: int, seconds: float) -> None:
        with self.lock:
            self.rows.append((kind, host, status, seconds))

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


class Balancer:
    """Round-robin over the live instances, like a load balancer (a dead one is skipped once it is known dead)."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = dict(urls)
        self.dead: set[str] = set()
        self._turn = itertools.count()

    def pick(self) -> tuple[str, str]:
        live = [h for h in self.urls if h not in self.dead] or list(self.urls)
        host = live[next(self._turn) % len(live)]
        return host, self.urls[host]


def _call(session: requests.Session, ledger: Ledger, balancer: Balancer, kind: str, method: str, path: str, **kw):
    host, base = balancer.pick()
    started = time.perf_counter()
    try:
        response = session.request(method, base + path, timeout=TIMEOUT, **kw)
    except requests.RequestException:
        ledger.add(kind, host, 0, time.perf_counter() - started)
        return host, None
    ledger.add(kind, host, response.status_code, time.perf_counter() - started)
    if response.status_code >= 500:
        ledger.problem(f"{kind} on {host}: {response.status_code} {response.text[:200]}")
    return host, response


def _session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "User-Agent": "procdesk-bench-two"})
    return session


def reader(stop: threading.Event, ledger: Ledger, balancer: Balancer, facts: dict, seed: int) -> None:
    rng = random.Random(seed)
    session = _session(facts["tokens"]["staff"])
    paths = ["/api/v1/procedures", *(f"/api/v1/procedures/{c}" for c in CONTESTED),
             *(f"/api/v1/procedures/{c}/versions" for c in CONTESTED), "/api/v1/procedures/QP-CS-001"]
    while not stop.is_set():
        _call(session, ledger, balancer, "read", "GET", rng.choice(paths))


def clerk(stop: threading.Event, ledger: Ledger, balancer: Balancer, facts: dict, seed: int) -> None:
    rng = random.Random(seed)
    session = _session(facts["tokens"]["clerk"])
    n = 0
    while not stop.is_set():
        n += 1
        if n % 2:
            body = {"overall": rng.choice([3, 4]), "room": f"{seed}-{n}", "source": "paper"}
            _host, r = _call(session, ledger, balancer, "survey form", "POST",
                             f"/api/v1/survey-campaigns/{facts['campaign']}/responses", json=body)
            if r is not None and r.status_code == 201:
                with ledger.lock:
                    ledger.responses.add(r.json()["response"]["id"])
            elif r is not None and r.status_code < 500:
                ledger.problem(f"survey form refused: {r.status_code} {r.text[:200]}")
        else:
            received = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
            body = {"kind": "complaint", "project": facts["project"], "channel": "phone", "category": facts["category"],
                    "severity": "normal", "description": f"负载测试投诉 {seed}-{n}", "room": f"{seed}-{n}",
                    "received_at": received}
            _host, r = _call(session, ledger, balancer, "complaint", "POST", "/api/v1/complaints", json=body)
            if r is not None and r.status_code == 201:
                with ledger.lock:
                    ledger.complaints.add(r.json()["id"])
            elif r is not None and r.status_code < 500:
                ledger.problem(f"complaint refused: {r.status_code} {r.text[:200]}")


def controller(stop: threading.Event, ledger: Ledger, balancer: Balancer, facts: dict, seed: int) -> None:
    rng = random.Random(seed)
    session = _session(facts["tokens"]["controller"])
    n = 0
    while not stop.is_set():
        n += 1
        code = rng.choice(CONTESTED)
        _host, current = _call(session, ledger, balancer, "read", "GET", f"/api/v1/procedures/{code}")
        if current is None or current.status_code != 200:
            continue
        doc = current.json()
        markdown = doc["markdown"].rstrip("\n") + f"\n\n负载测试修订 {seed}-{n}。\n"
        body = {"base": doc["revision"], "markdown": markdown, "summary": f"负载测试 {seed}-{n}", "approved_by": "manager"}
        _host, r = _call(session, ledger, balancer, "publish", "POST", f"/api/v1/procedures/{code}/versions", json=body)
        if r is None:
            continue
        if r.status_code == 201:
            with ledger.lock:
                ledger.revisions.add(r.json()["revision"])
        elif r.status_code != 409:
            ledger.problem(f"publish answered {r.status_code} (only 201 or 409 may answer a race): {r.text[:300]}")


class _FormFields(html.parser.HTMLParser):
    """The successful controls of the first form with a password field (the admin user form) on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "file", "password"):
                self.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.append((name, ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)


def _browser_login(base: str, login: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/login", timeout=TIMEOUT).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = session.post(base + "/login", data={"login": login, "password": PASSWORD, "csrf_token": token},
                     timeout=TIMEOUT, allow_redirects=False)
    assert r.status_code == 302, f"login as {login} failed: {r.status_code}"
    return session


def disable_user(base: str, user_id: int) -> int:
    """Untick "active" on the admin user form and save it, as an administrator would; the answer's status."""
    session = _browser_login(base, "admin")
    page = session.get(f"{base}/admin/users/{user_id}", timeout=TIMEOUT).text
    fields = _FormFields()
    fields.feed(page)
    data = [(k, v) for k, v in fields.fields if k != "active"]
    return session.post(f"{base}/admin/users/{user_id}", data=data, timeout=TIMEOUT, allow_redirects=False).status_code


def admin(stop: threading.Event, ledger: Ledger, balancer: Balancer, facts: dict, urls: dict, at: float,
          outcome: dict) -> None:
    """Halfway through: disable ``victim``; then its next request to each instance must be refused."""
    victim = _session(facts["tokens"]["victim"])
    deadline = time.monotonic() + at
    while time.monotonic() < deadline and not stop.is_set():
        _call(victim, ledger, balancer, "victim", "GET", "/api/v1/me")
        time.sleep(0.05)
    host, base = balancer.pick()
    outcome["disable_status"] = disable_user(base, facts["victim_id"])
    outcome["disabled_on"] = host
    outcome["next_request"] = {}
    for name, url in urls.items():
        try:
            outcome["next_request"][name] = victim.get(url + "/api/v1/me", timeout=TIMEOUT).status_code
        except requests.RequestException as exc:
            outcome["next_request"][name] = f"unreachable: {exc.__class__.__name__}"


def drive(urls: dict[str, str], facts: dict, duration: float, *, kill: Gunicorn | None = None,
          disable_at: float | None = None) -> tuple[Ledger, dict]:
    """Run the mixed load on ``urls`` for ``duration`` seconds (optionally killing ``kill`` halfway)."""
    ledger, balancer, stop = Ledger(), Balancer(urls), threading.Event()
    outcome: dict = {}
    threads = [threading.Thread(target=reader, args=(stop, ledger, balancer, facts, 100 + i)) for i in range(READERS)]
    threads += [threading.Thread(target=clerk, args=(stop, ledger, balancer, facts, 200 + i)) for i in range(CLERKS)]
    threads += [threading.Thread(target=controller, args=(stop, ledger, balancer, facts, 300 + i))
                for i in range(CONTROLLERS)]
    if disable_at is not None:
        threads.append(threading.Thread(target=admin, args=(stop, ledger, balancer, facts, urls, disable_at, outcome)))
    started = time.monotonic()
    for t in threads:
        t.start()
    if kill is not None:
        time.sleep(duration / 2)
        os.killpg(kill.proc.pid, signal.SIGKILL)
        outcome["killed_after"] = round(time.monotonic() - started, 1)
        name = next(n for n, u in urls.items() if u == kill.url)
        time.sleep(1.0)  # a balancer's health check notices within a second
        balancer.dead.add(name)
    time.sleep(max(0.0, duration - (time.monotonic() - started)))
    stop.set()
    for t in threads:
        t.join(TIMEOUT + 5)
    outcome["elapsed"] = time.monotonic() - started
    return ledger, outcome


# --------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------

def _quantile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def figures(ledger: Ledger, elapsed: float) -> dict:
    answered = [r for r in ledger.rows if r[2]]
    seconds = [r[3] for r in answered]
    by_kind = {}
    for kind in sorted({r[0] for r in answered}):
        s = [r[3] for r in answered if r[0] == kind]
        by_kind[kind] = {"count": len(s), "median_ms": round(statistics.median(s) * 1000, 1),
                         "p99_ms": round(_quantile(s, 0.99) * 1000, 1)}
    statuses: dict[str, int] = {}
    for r in ledger.rows:
        statuses[str(r[2])] = statuses.get(str(r[2]), 0) + 1
    return {"requests": len(answered), "throughput_rps": round(len(answered) / elapsed, 1),
            "median_ms": round(statistics.median(seconds) * 1000, 1) if seconds else None,
            "p99_ms": round(_quantile(seconds, 0.99) * 1000, 1), "by_kind": by_kind, "statuses": statuses,
            "by_host": {h: sum(1 for r in answered if r[1] == h) for h in sorted({r[1] for r in answered})}}


def lost_writes(db_url: str, store: Path, ledger: Ledger) -> dict:
    """Acknowledged writes that are not there (each list must be empty)."""
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        complaints = set(conn.execute(sa.text("SELECT id FROM complaints")).scalars()) if ledger.complaints else set()
        responses = set(conn.execute(sa.text("SELECT id FROM survey_responses")).scalars()) if ledger.responses else set()
    engine.dispose()
    on_main = set(subprocess.run(["git", "--git-dir", str(store), "rev-list", "main"], capture_output=True, text=True,
                                 check=True).stdout.split())
    return {"complaints": sorted(ledger.complaints - complaints), "survey_forms": sorted(ledger.responses - responses),
            "versions": sorted(ledger.revisions - on_main)}


def consistency(env: dict, store: Path) -> dict:
    fsck = subprocess.run(["git", "--git-dir", str(store), "fsck", "--no-progress", "--no-dangling"],
                          capture_output=True, text=True)
    audit = _flask(env, "audit", "verify", check=False)
    return {"fsck_ok": fsck.returncode == 0 and not fsck.stdout.strip() and "error" not in fsck.stderr,
            "fsck_output": (fsck.stdout + fsck.stderr).strip()[:500],
            "audit_ok": audit.returncode == 0, "audit_output": (audit.stdout + audit.stderr).strip()[-500:]}


def _tables(db_url: str) -> list[str]:
    engine = sa.create_engine(db_url)
    names = sa.inspect(engine).get_table_names()
    engine.dispose()
    return names


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def run(duration: float, base_url: str) -> dict:
    work = Path(tempfile.mkdtemp(prefix="procdesk-two-"))
    db_url, drop = _database(base_url)
    hosts: list[Gunicorn] = []
    try:
        shared, facts = prepare(work, db_url)
        assert {"complaints", "survey_responses"} <= set(_tables(db_url))
        store = Path(shared["REPO_STORE_PATH"])

        def host(name: str) -> Gunicorn:
            g = Gunicorn("wsgi:app", env={**shared, "PROCDESK_INSTANCE_PATH": str(work / name)}, workers=2)
            hosts.append(g)
            g.wait("/login")
            return g

        a, b = host("host-a"), host("host-b")
        result: dict = {"duration_s": duration, "clients": {"readers": READERS, "clerks": CLERKS,
                                                            "controllers": CONTROLLERS}}
        # 1. one instance alone, then both, same clients (the comparison the figures quote)
        single, out = drive({"A": a.url}, facts, duration)
        result["single"] = {**figures(single, out["elapsed"]), "lost": lost_writes(db_url, store, single),
                            "problems": single.problems[:20]}
        both, out = drive({"A": a.url, "B": b.url}, facts, duration, disable_at=duration / 2)
        result["two"] = {**figures(both, out["elapsed"]), "lost": lost_writes(db_url, store, both),
                         "problems": both.problems[:20], "disable": {k: v for k, v in out.items() if k != "elapsed"}}
        result["two"]["consistency"] = consistency({**shared, "PROCDESK_INSTANCE_PATH": str(work / "setup")}, store)
        # 2. kill -9 one instance in the middle of the load
        killed, out = drive({"A": a.url, "B": b.url}, facts, duration, kill=b)
        after_kill = [r for r in killed.rows if r[1] == "A"]
        facts_after = {"killed_after_s": out.get("killed_after")}
        # the survivor still publishes: no lock or half-written ref was left behind by the dead one
        session = _session(facts["tokens"]["controller"])
        doc = session.get(f"{a.url}/api/v1/procedures/{CONTESTED[0]}", timeout=TIMEOUT).json()
        r = session.post(f"{a.url}/api/v1/procedures/{CONTESTED[0]}/versions", timeout=TIMEOUT, json={
            "base": doc["revision"], "markdown": doc["markdown"].rstrip("\n") + "\n\n终了发布。\n",
            "summary": "kill 之后的发布", "approved_by": "manager"})
        facts_after["publish_after_kill"] = r.status_code
        if r.status_code == 201:
            killed.revisions.add(r.json()["revision"])
        result["kill"] = {**figures(killed, out["elapsed"]), **facts_after, "lost": lost_writes(db_url, store, killed),
                          "problems": killed.problems[:20],
                          "survivor_5xx": sum(1 for row in after_kill if row[2] >= 500),
                          "survivor_requests": len(after_kill),
                          "consistency": consistency({**shared, "PROCDESK_INSTANCE_PATH": str(work / "setup")}, store)}
        return result
    finally:
        for g in hosts:
            g.stop()
        drop()
        shutil.rmtree(work, ignore_errors=True)


def verdict(result: dict) -> list[str]:
    """The invariants that broke (empty: all held)."""
    broken = []
    for phase in ("single", "two", "kill"):
        p = result[phase]
        if any(p["lost"].values()):
            broken.append(f"{phase}: acknowledged writes lost: {p['lost']}")
        if any(int(code) >= 500 for code in p["statuses"] if code != "0"):
            broken.append(f"{phase}: 5xx answers: {p['statuses']}")
        if p["problems"]:
            broken.append(f"{phase}: {len(p['problems'])} unexpected answers, e.g. {p['problems'][0]}")
    for phase in ("two", "kill"):
        c = result[phase]["consistency"]
        if not (c["fsck_ok"] and c["audit_ok"]):
            broken.append(f"{phase}: store or audit chain inconsistent: {c}")
    disable = result["two"]["disable"]
    if disable.get("disable_status") != 302 or any(s != 401 for s in disable.get("next_request", {}).values()):
        broken.append(f"disabling a user: {disable}")
    if result["kill"]["publish_after_kill"] != 201:
        broken.append(f"publish on the survivor after kill -9: {result['kill']['publish_after_kill']}")
    if result["kill"]["survivor_5xx"]:
        broken.append("the surviving instance answered 5xx after the kill")
    return broken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase (default 20)")
    parser.add_argument("--db", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
                        help="a PostgreSQL URL whose server may create a throw-away database")
    args = parser.parse_args()
    result = run(args.duration, args.db)
    result["broken"] = verdict(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"two-instances-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    for phase, label in (("single", "one instance"), ("two", "two instances"), ("kill", "two, one killed halfway")):
        p = result[phase]
        print(f"{label:26s} {p['throughput_rps']:7.1f} req/s  median {p['median_ms']} ms  p99 {p['p99_ms']} ms  "
              f"statuses {p['statuses']}  writes lost {sum(len(v) for v in p['lost'].values())}")
    single, two = result["single"], result["two"]
    print(f"two / one: throughput ×{two['throughput_rps'] / single['throughput_rps']:.2f}, "
          f"p99 ×{two['p99_ms'] / single['p99_ms']:.2f}")
    print("disabled user:", result["two"]["disable"])
    print("after kill -9:", {k: result["kill"][k] for k in ("killed_after_s", "publish_after_kill", "survivor_requests",
                                                             "survivor_5xx")})
    print("results:", out)
    for line in result["broken"]:
        print("BROKEN:", line)
    return 1 if result["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
