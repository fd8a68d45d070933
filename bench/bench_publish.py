"""Publishing benchmark: new versions over HTTP with 2,000 procedures in the store.

ProcDesk runs under gunicorn (2 sync workers, ``--no-control-socket``) on a private copy of
the ``bench/data.py`` instance (2,000 procedures of ~8 KB plus one with 500 versions; the
copy is thrown away afterwards, so the cached data set stays pristine). A logged-in
document controller then publishes, one request at a time, and the wall time of each
publish request is recorded on the client:

* ``api``      — ``POST /api/v1/procedures/<code>/versions`` (JSON, session + X-CSRFToken),
                 201 expected; every publish goes to a different procedure, with the
                 ``revision`` read from ``GET /api/v1/procedures/<code>`` as its base;
* ``form``     — the editor's ``POST /procedures/<code>/edit`` (form + CSRF), 302 expected;
* ``parallel`` — two clients publishing to different procedures at the same time, so the
                 compare-and-swap on ``main`` races and retries (all must still succeed);
* ``conflict`` — a publish with a stale base: nothing is written, 409 with both sides;
* ``preview``  — the live preview the editor calls while typing (8 KB document);
* ``baseline`` — GET of a trivial Flask route returning a fixed 8 KB page
                 (``bench/baseline_app.py``) under the same gunicorn settings, with the
                 same client, measured in rounds alternating with the cases above.

Medians and p90 are quoted, plus each median as a multiple of the baseline's median
(two shared cores: compare ratios within one run, never absolute figures across runs).
Target: publish median < 60 ms.

Usage: ``python bench/bench_publish.py [--rounds 3] [--per-round 40] [--quick]``
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_procedures import USER_AGENT, Gunicorn  # noqa: E402
from bench.data import ensure  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LOGIN, PASSWORD = "controller", "procdesk-demo"
TARGET_MS = 60.0


class Client:
    """A minimal browser: one cookie (the session), CSRF token from the page, wall-clock timing."""

    def __init__(self, base: str):
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.cookie = ""
        self.csrf = ""

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """Returns (status, headers, body bytes, seconds)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        hdrs = {"User-Agent": USER_AGENT, **(headers or {})}
        if self.cookie:
            hdrs["Cookie"] = self.cookie
        t = time.perf_counter()
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        elapsed = time.perf_counter() - t
        conn.close()
        for value in resp.headers.get_all("Set-Cookie") or ():
            m = re.match(r"(procdesk_session=[^;]*)", value)
            if m:
                self.cookie = m.group(1)
        m = re.search(rb'name="csrf-token" content="([^"]+)"', data)
        if m:
            self.csrf = m.group(1).decode()
        return resp.status, resp.headers, data, elapsed

    def form(self, path: str, fields: dict):
        body = urllib.parse.urlencode({**fields, "csrf_token": self.csrf}).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def json(self, method: str, path: str, payload=None):
        body = json.dumps(payload).encode() if payload is not None else None
        headers = {"Accept": "application/json", "X-CSRFToken": self.csrf}
        if body is not None:
            headers["Content-Type"] = "application/json"
        status, headers, data, elapsed = self.request(method, path, body, headers)
        return status, (json.loads(data) if data else None), elapsed

    def login(self) -> None:
        status, _h, page, _t = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1).decode()
        body = urllib.parse.urlencode({"login": LOGIN, "password": PASSWORD, "csrf_token": token}).encode()
        status, _h, _b, _t = self.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"login failed ({status})")
        self.request("GET", "/procedures/")  # the session's CSRF token, as a browser would get it


def _edited(markdown: str, n: int) -> str:
    return markdown.rstrip("\n") + f"\n\n9.{n} 基准测试增补条款：第 {n} 次修订，客服中心于次月 3 日前完成汇总。\n"


def _stats(seconds: list[float]) -> dict:
    ms = sorted(s * 1000 for s in seconds)
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 2),
            "p90_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.9))], 2), "max_ms": round(ms[-1], 2)}


def _publish_api(client: Client, code: str, n: int) -> float:
    status, current, _t = client.json("GET", f"/api/v1/procedures/{code}")
    assert status == 200, (status, code)
    status, body, elapsed = client.json("POST", f"/api/v1/procedures/{code}/versions", {
        "base": current["revision"], "markdown": _edited(current["markdown"], n),
        "summary": f"基准测试第 {n} 次发布"})
    assert status == 201, (status, body)
    return elapsed


def _publish_form(client: Client, code: str, n: int) -> float:
    status, _h, page, _t = client.request("GET", f"/procedures/{code}/edit")
    assert status == 200, (status, code)
    html = page.decode()
    base = re.search(r'name="base" type="hidden" value="([0-9a-f]{40})"', html).group(1)
    text = re.search(r'<textarea[^>]*name="markdown"[^>]*>(?:\r?\n)?(.*?)</textarea>', html, re.S).group(1)
    import html as html_lib

    status, headers, _b, elapsed = client.form(f"/procedures/{code}/edit", {
        "markdown": _edited(html_lib.unescape(text), n), "summary": f"基准测试第 {n} 次发布（表单）",
        "base": base, "approved_by": ""})
    assert status == 302, (status, re.findall(r'class="error"[^>]*>([^<]*)<', _b.decode()) or _b[:300])
    client.request("GET", headers["Location"])  # consume the flash message, as the browser would
    return elapsed


def run(rounds: int, per_round: int, data_dir: str | None = None) -> dict:
    info = ensure(data_dir or RESULTS / "data")
    work = Path(tempfile.mkdtemp(prefix="procdesk-bench-publish-"))
    try:
        # A private copy: publishing changes the store and the database.
        shutil.copytree(info["store"], work / "store.git")
        shutil.copy2(Path(info["instance"]) / "procdesk.db", work / "procdesk.db")
        shutil.copy2(Path(info["instance"]) / "secret_key", work / "secret_key")
        env = {"PROCDESK_INSTANCE_PATH": str(work), "DATABASE_URL": f"sqlite:///{work / 'procdesk.db'}",
               "REPO_STORE_PATH": str(work / "store.git"), "ENV": "development"}
        baseline = Gunicorn("bench.baseline_app:app")
        app = Gunicorn("wsgi:app", env)
        try:
            baseline.wait("/")
            app.wait("/healthz")
            return _measure(info, baseline, app, rounds, per_round)
        finally:
            app.stop()
            baseline.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(info: dict, baseline: Gunicorn, app: Gunicorn, rounds: int, per_round: int) -> dict:
    client = Client(app.url)
    client.login()
    base_client = Client(baseline.url)
    codes = iter(info["codes"])
    times: dict[str, list[float]] = {k: [] for k in ("baseline", "api", "form", "parallel", "conflict", "preview")}
    counter = 0
    # Warm up both workers (imports, first sync, template compilation).
    for _ in range(4):
        counter += 1
        _publish_api(client, next(codes), counter)
        _publish_form(client, next(codes), counter)
    status, current, _t = client.json("GET", f"/api/v1/procedures/{info['codes'][-1]}")
    sample = current["markdown"]

    for _ in range(rounds):
        for _ in range(per_round):
            times["baseline"].append(base_client.request("GET", "/")[3])
        for _ in range(per_round):
            counter += 1
            times["api"].append(_publish_api(client, next(codes), counter))
        for _ in range(per_round // 2):
            counter += 1
            times["form"].append(_publish_form(client, next(codes), counter))
        for _ in range(per_round // 2):
            status, body, elapsed = client.json("POST", "/procedures/preview",
                                                {"markdown": _edited(sample, counter), "code": info["codes"][-1]})
            assert status == 200 and body["html"], status
            times["preview"].append(elapsed)
        # Two publishers at once on different procedures: the CAS on main races; both must land.
        second = Client(app.url)
        second.cookie, second.csrf = client.cookie, client.csrf
        batches = [[next(codes) for _ in range(per_round // 2)] for _ in range(2)]
        results: list[list[float]] = [[], []]

        def publisher(c, batch, start, out):
            for i, code in enumerate(batch):
                out.append(_publish_api(c, code, start + i))

        threads = [threading.Thread(target=publisher, args=(c, b, counter + 1000 * (k + 1), results[k]))
                   for k, (c, b) in enumerate(zip((client, second), batches, strict=True))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        times["parallel"] += results[0] + results[1]
        counter += per_round
        # Stale base: the 409 answer (nothing written) must be cheap too.
        code = next(codes)
        status, current, _t = client.json("GET", f"/api/v1/procedures/{code}")
        stale = current["revision"]
        counter += 1
        _publish_api(client, code, counter)
        for _ in range(max(3, per_round // 8)):
            status, body, elapsed = client.json("POST", f"/api/v1/procedures/{code}/versions", {
                "base": stale, "markdown": _edited(current["markdown"], 0), "summary": "stale"})
            assert status == 409 and body["details"]["theirs"]["markdown"], status
            times["conflict"].append(elapsed)

    summary = {name: _stats(values) for name, values in times.items()}
    base_median = summary["baseline"]["median_ms"]
    for s in summary.values():
        s["x_baseline"] = round(s["median_ms"] / base_median, 1) if base_median else None
    return {
        "benchmark": "procedures-publish", "at": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()},
        "settings": {"workers": 2, "rounds": rounds, "per_round": per_round},
        "data": {k: info[k] for k in ("procedures", "versions", "size")},
        "summary": summary,
        "targets": {f"publish median < {TARGET_MS:.0f} ms": summary["api"]["median_ms"] < TARGET_MS
                    and summary["form"]["median_ms"] < TARGET_MS},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="Procedures publishing benchmark")
    parser.add_argument("--rounds", type=int, default=3, help="measurement rounds (cases alternate with the baseline)")
    parser.add_argument("--per-round", type=int, default=40, help="publishes per case and round")
    parser.add_argument("--quick", action="store_true", help="one short round (a smoke test of the script)")
    parser.add_argument("--data", default=None, help="data folder (default bench/results/data)")
    args = parser.parse_args()
    rounds, per_round = (1, 8) if args.quick else (args.rounds, args.per_round)
    result = run(rounds, per_round, args.data)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"publish-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    labels = {"baseline": "baseline GET (fixed 8 KB page)", "api": "publish via API (201)",
              "form": "publish via editor form (302)", "parallel": "2 publishers at once",
              "conflict": "stale base (409, both sides)", "preview": "live preview (8 KB)"}
    for name, label in labels.items():
        s = result["summary"][name]
        print(f"{label:34} n={s['n']:4}  median {s['median_ms']:7.2f} ms  p90 {s['p90_ms']:7.2f} ms  "
              f"= {s['x_baseline']}× baseline")
    for target, ok in result["targets"].items():
        print(f"  [{'ok' if ok else 'MISSED'}] {target}")
    print(f"results: {path.relative_to(ROOT)}")
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
