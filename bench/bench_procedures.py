"""Read-path benchmark for procedures: gunicorn (2 workers) + wrk on loopback, logged in.

Every figure is compared with a baseline measured in the same run: a trivial Flask route
returning a fixed 8 KB page (``bench/baseline_app.py``) under the same gunicorn settings.
Baseline and ProcDesk runs alternate and the medians are quoted, because the two cores
are shared with wrk (and with whatever else runs on the machine).

Scenarios (data from ``bench/data.py``: 2,000 procedures of ~8 KB, one with 500 versions):

* ``read``     — the current version of a procedure, rotating over 200 procedures
                 (throughput, ``-c16``); target ≥ 30 % of the baseline's requests/s;
* ``read_304`` — the same with ``If-None-Match`` (what a browser sends when it comes back);
* ``read_many`` — the same reads by ``READERS`` different users in turn (each request the next
                 user's session), so no figure rests on one user's copies being warm;
* ``history``  — the history page of the 500-version procedure (latency at ``-c2``,
                 i.e. one request per worker, so the figure is the page's own time, not
                 queueing); target p99 < 50 ms;
* ``compare``  — redline of two consecutive 8 KB versions (latency at ``-c2``); p99 < 50 ms;
* ``search``   — full text over the 2,000 current procedures, rotating over Chinese and
                 English queries (latency at ``-c2``); target median < 100 ms.

Cold figures (first request after a worker starts, before any cache is warm) are
measured in-process and reported separately.

Usage: ``python bench/bench_procedures.py [--duration 8] [--repeat 3] [--quick]``
(``make bench`` runs it through ``bench/run_all.py``).
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.data import ensure  # noqa: E402

RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
USER_AGENT = "procdesk-bench"
LOGIN, PASSWORD = "clerk", "procdesk-demo"
#: Readers logged in for ``read_many`` (created in the bench database: reader01…, department CS).
READERS = 40
SEARCH_QUERIES = ["满意率", "纠正措施 记录", "应急预案", "quality records", "ProcDesk", "电梯"]


# --------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """``gunicorn --no-control-socket -w 2`` in its own process group, stopped on exit."""

    def __init__(self, app: str, env: dict | None = None, workers: int = 2):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "--no-control-socket", "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
             "--graceful-timeout", "2", app],
            cwd=ROOT, env={**os.environ, **(env or {})}, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def wait(self, path: str = "/", timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer on {self.url}{path}; see {self.log.name}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


# --------------------------------------------------------------------------
# logging in, wrk
# --------------------------------------------------------------------------

def session_cookie(base: str, login: str = LOGIN) -> str:
    """Log in through the real form and return ``procdesk_session=…`` as a browser would hold it."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"login": login, "password": PASSWORD, "csrf_token": token}).encode()
    opener.open(base + "/login", data=data).read()
    opener.open(base + "/procedures/").read()  # the session gets its CSRF token once, like a browser's
    for cookie in jar:
        if cookie.name == "procdesk_session":
            return f"procdesk_session={cookie.value}"
    raise RuntimeError("login failed")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", value)
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, *, paths: list[str] | None = None, headers=(), connections: int = 16, duration: int = 8,
        threads: int = 2, cookies: list[str] | None = None) -> dict:
    """Run wrk; returns requests/s and latency percentiles (ms). ``paths`` rotate through a Lua
    script; with ``cookies`` each request also takes the next cookie (another user's session)."""
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-H", f"User-Agent: {USER_AGENT}"]
    for h in headers:
        args += ["-H", h]
    script = None
    if paths:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write("paths = {" + ", ".join(json.dumps(p) for p in paths) + "}\n"
                     "cookies = {" + ", ".join(json.dumps(c) for c in cookies or []) + "}\n"
                     "counter = 0\n"
                     "request = function()\n  counter = counter + 1\n"
                     "  local path = paths[(counter % #paths) + 1]\n"
                     "  if #cookies == 0 then return wrk.format(nil, path) end\n"
                     # headers given to wrk.format replace wrk.headers: repeat the User-Agent
                     f"  return wrk.format(nil, path, {{[\"User-Agent\"] = {json.dumps(USER_AGENT)}, "
                     "[\"Cookie\"] = cookies[(counter % #cookies) + 1]})\nend\n")
        script.close()
        args += ["-s", script.name]
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    if script:
        os.unlink(script.name)
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        result[f"p{pct}_ms"] = round(_ms(m.group(1)), 2) if m else None
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = int(bad.group(1)) if bad else 0
    sock = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = sock.group(1).strip() if sock else ""
    return result


def _median(runs: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 2)


# --------------------------------------------------------------------------
# cold, in-process figures
# --------------------------------------------------------------------------

def cold_figures(info: dict) -> dict:
    """First-request costs with empty caches, measured in one process (milliseconds)."""
    from procedures import catalog, rendering
    from procedures import search as search_service
    from webapp import create_app

    app = create_app({"INSTANCE_PATH": info["instance"], "DATABASE_URL": info["database"],
                      "REPO_STORE_PATH": info["store"]})
    out = {}
    with app.test_request_context("/"):
        rendering.clear_cache()
        t = time.perf_counter()
        catalog.ensure_synced(commit=True)
        out["sync_check_ms"] = round((time.perf_counter() - t) * 1000, 2)
        t = time.perf_counter()
        view = catalog.get_current(info["codes"][7])
        view.rendered()
        out["first_read_lookup_and_render_ms"] = round((time.perf_counter() - t) * 1000, 2)
        t = time.perf_counter()
        catalog.list_versions(info["history_code"])
        out["history_500_versions_query_ms"] = round((time.perf_counter() - t) * 1000, 2)
        t = time.perf_counter()
        c = catalog.compare(info["history_code"], "A-0", "A-499")
        out["compare_A0_A499_uncached_ms"] = round((time.perf_counter() - t) * 1000, 2)
        out["compare_A0_A499_chars"] = [c.inserted, c.deleted]
        t = time.perf_counter()
        catalog.compare(info["history_code"], "A-497", "A-498")
        out["compare_consecutive_uncached_ms"] = round((time.perf_counter() - t) * 1000, 2)
        t = time.perf_counter()
        search_service.search("满意率")
        out["search_first_ever_ms"] = round((time.perf_counter() - t) * 1000, 2)
        times = []
        for q in SEARCH_QUERIES * 3:
            t = time.perf_counter()
            search_service.search(q)
            times.append((time.perf_counter() - t) * 1000)
        out["search_warm_median_ms"] = round(statistics.median(times), 2)
        t = time.perf_counter()
        search_service.search("记录", all_versions=True)
        out["search_all_versions_first_ms"] = round((time.perf_counter() - t) * 1000, 2)
    from webapp.extensions import db

    with app.app_context():
        db.engine.dispose()
    return out


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def ensure_readers(info: dict, count: int = READERS) -> list[str]:
    """Logins of ``count`` reader accounts in the bench database (created once)."""
    from accounts.models import User
    from accounts.services import UserData, create_user
    from webapp import create_app
    from webapp.extensions import db

    app = create_app({"INSTANCE_PATH": info["instance"], "DATABASE_URL": info["database"],
                      "REPO_STORE_PATH": info["store"]})
    logins = [f"reader{i:02d}" for i in range(1, count + 1)]
    with app.app_context():
        existing = set(db.session.execute(db.select(User.login).where(User.login.in_(logins))).scalars())
        for i, login in enumerate(logins, start=1):
            if login not in existing:
                create_user(UserData(login=login, display_name=f"读者{i:02d}", password=PASSWORD,
                                     role_codes=("reader",), department_code="CS"))
        db.session.remove()
        db.engine.dispose()
    return logins


def run(duration: int = 8, repeat: int = 3, data_dir: str | None = None) -> dict:
    info = ensure(data_dir or RESULTS / "data")
    readers = ensure_readers(info)
    env = {"PROCDESK_INSTANCE_PATH": info["instance"], "DATABASE_URL": info["database"],
           "REPO_STORE_PATH": info["store"], "ENV": "development"}
    baseline = Gunicorn("bench.baseline_app:app")
    app = Gunicorn("wsgi:app", env)
    try:
        baseline.wait("/")
        app.wait("/healthz")
        cookie = session_cookie(app.url)
        auth = [f"Cookie: {cookie}"]
        reader_cookies = [session_cookie(app.url, login) for login in readers]
        codes = info["codes"][:200]
        read_paths = [f"/procedures/{c}" for c in codes]
        hist = info["history_code"]
        history_path = f"/procedures/{hist}/history"
        compare_path = f"/procedures/{hist}/compare?from=A-498&to=A-499"
        search_paths = ["/procedures/search?" + urllib.parse.urlencode({"q": q}) for q in SEARCH_QUERIES]
        # Warm both workers (renders, search texts) the way a day of use would.
        opener = urllib.request.build_opener()
        opener.addheaders = [("User-Agent", USER_AGENT), ("Cookie", cookie)]
        for _ in range(2):
            for path in read_paths + [history_path, compare_path] + search_paths * 2:
                opener.open(app.url + path).read()
        etag = opener.open(app.url + read_paths[0]).headers["ETag"]

        for reader in reader_cookies:  # each reader's first page, in both workers
            opener.addheaders = [("User-Agent", USER_AGENT), ("Cookie", reader)]
            for path in read_paths[:4]:
                opener.open(app.url + path).read()
        runs: dict[str, list[dict]] = {k: [] for k in ("baseline", "read", "read_304", "read_many")}
        for _ in range(repeat):
            runs["baseline"].append(wrk(baseline.url + "/", duration=duration))
            runs["read"].append(wrk(app.url, paths=read_paths, headers=auth, duration=duration))
            runs["read_304"].append(wrk(app.url + read_paths[0], headers=auth + [f"If-None-Match: {etag}"],
                                        duration=duration))
            runs["read_many"].append(wrk(app.url, paths=read_paths, cookies=reader_cookies, duration=duration))
        latency: dict[str, list[dict]] = {k: [] for k in ("baseline", "history", "compare", "search")}
        for _ in range(repeat):
            latency["baseline"].append(wrk(baseline.url + "/", connections=2, duration=duration))
            latency["history"].append(wrk(app.url + history_path, headers=auth, connections=2, duration=duration))
            latency["compare"].append(wrk(app.url + compare_path, headers=auth, connections=2, duration=duration))
            latency["search"].append(wrk(app.url, paths=search_paths, headers=auth, connections=2,
                                         duration=duration))
    finally:
        app.stop()
        baseline.stop()

    base_rps = _median(runs["baseline"], "rps")
    ratios = [r["rps"] / b["rps"] for r, b in zip(runs["read"], runs["baseline"], strict=True)]
    summary = {
        "baseline_rps": base_rps,
        "read_rps": _median(runs["read"], "rps"),
        "read_ratio": round(statistics.median(ratios), 3),
        "read_304_rps": _median(runs["read_304"], "rps"),
        "read_304_ratio": round(_median(runs["read_304"], "rps") / base_rps, 3),
        "read_many_rps": _median(runs["read_many"], "rps"),
        "read_many_ratio": round(statistics.median(
            r["rps"] / b["rps"] for r, b in zip(runs["read_many"], runs["baseline"], strict=True)), 3),
        "read_p50_ms_c16": _median(runs["read"], "p50_ms"),
        "history_p50_ms": _median(latency["history"], "p50_ms"),
        "history_p99_ms": _median(latency["history"], "p99_ms"),
        "compare_p50_ms": _median(latency["compare"], "p50_ms"),
        "compare_p99_ms": _median(latency["compare"], "p99_ms"),
        "search_p50_ms": _median(latency["search"], "p50_ms"),
        "search_p99_ms": _median(latency["search"], "p99_ms"),
        "baseline_p50_ms_c2": _median(latency["baseline"], "p50_ms"),
    }
    summary["targets"] = {
        "read >= 30% of baseline": summary["read_ratio"] >= 0.30,
        "history p99 < 50 ms": summary["history_p99_ms"] < 50,
        "compare p99 < 50 ms": summary["compare_p99_ms"] < 50,
        "search median < 100 ms": summary["search_p50_ms"] < 100,
    }
    errors = sum(r["errors"] for group in (runs, latency) for rs in group.values() for r in rs)
    result = {
        "benchmark": "procedures-read", "at": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()},
        "settings": {"workers": 2, "duration_s": duration, "repeat": repeat, "wrk_threads": 2,
                     "throughput_connections": 16, "latency_connections": 2},
        "data": {k: info[k] for k in ("procedures", "versions", "size", "seconds", "versions_synced")},
        "summary": summary, "non_2xx": errors, "runs": runs, "latency_runs": latency,
        "cold_in_process": cold_figures(info),
    }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description="Procedures read-path benchmark")
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (medians are quoted)")
    parser.add_argument("--quick", action="store_true", help="3 s runs, once (a smoke test of the script)")
    parser.add_argument("--data", default=None, help="data folder (default bench/results/data)")
    args = parser.parse_args()
    duration, repeat = (3, 1) if args.quick else (args.duration, args.repeat)
    result = run(duration, repeat, args.data)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"procedures-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    s = result["summary"]
    print(f"baseline (fixed 8 KB Flask page): {s['baseline_rps']:.0f} req/s")
    print(f"read current procedure:           {s['read_rps']:.0f} req/s = {s['read_ratio']:.0%} of baseline "
          f"(304: {s['read_304_rps']:.0f} req/s = {s['read_304_ratio']:.0%})")
    print(f"read, {READERS} readers in turn:       {s['read_many_rps']:.0f} req/s = {s['read_many_ratio']:.0%} of baseline")
    print(f"history, 500 versions:            p50 {s['history_p50_ms']} ms, p99 {s['history_p99_ms']} ms")
    print(f"compare two 8 KB versions:        p50 {s['compare_p50_ms']} ms, p99 {s['compare_p99_ms']} ms")
    print(f"search 2,000 procedures:          median {s['search_p50_ms']} ms, p99 {s['search_p99_ms']} ms")
    print(f"cold (in-process, ms):            {result['cold_in_process']}")
    for target, ok in s["targets"].items():
        print(f"  [{'ok' if ok else 'MISSED'}] {target}")
    if result["non_2xx"]:
        print(f"WARNING: {result['non_2xx']} non-2xx/3xx responses")
    print(f"results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
