"""Issue 8, rule (a): one bad document never takes down more than itself.

Each attack is tried where documents enter — the publishing API (new procedure and new
version), the editor form, uploads — and must be refused with a 400 naming the field,
with nothing written. The same documents are then written straight into the bare store,
as a plain ``git push`` would (or were mirrored before these checks existed): the bad
version is recorded for document controllers and skipped (or shown as an error on its own
page when it cannot be rendered), every other page keeps answering 200,
``flask procedures sync --rebuild`` works, and publishing a fixed version recovers without
rewinding ``main``.
"""
from __future__ import annotations

import io
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from audit.models import AuditEntry
from procedures import catalog
from procedures.models import ProcedureVersion, StoreProblem
from procedures.publishing import service as publishing
from repo_store import GitStore, Signature
from tests.conftest import Client
from tests.factories_publishing import BODY, head, procedure_text, seed_procedure, text_today
from webapp import dates
from webapp.extensions import db
from webapp.store import get_store

BAD = "QP-CS-001"
GOOD = "QP-CS-002"
GIT_USER = Signature("Git User", "git@example.com")
FIXED_BODY = BODY + "\n4.3 投诉处理完毕后三日内回访。\n"


def _bomb(levels: int) -> str:
    """Front-matter lines of a "billion laughs": each level refers nine times to the one before."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        refs = ",".join(f"*l{i - 1}" for _ in range(9))
        lines.append(f"l{i}: &l{i} [{refs}]")
    return "\n".join(lines)


def _deep_list(levels: int = 700) -> str:
    """The 700-level nested list of the issue (493 KB)."""
    return "".join("  " * i + "- x\n" for i in range(levels))


#: name -> (file text or bytes, the field the refusal names)
ATTACKS = {
    "far_future": (procedure_text(BAD, effective="9999-12-31"), "effective"),
    "ancient": (procedure_text(BAD, effective="0001-01-01"), "effective"),
    "surrogate_escape": (procedure_text(BAD, title='"规程\\ud800"'), "title"),
    "nul_escape": (procedure_text(BAD, title='"规程\\x00"'), "title"),
    "surrogate_bytes": (procedure_text(BAD).encode().replace("顾客满意".encode(), b"\xed\xa0\x80"), "file"),
    "control_char": (procedure_text(BAD, body=BODY + "\n4.3 \x07\n"), "file"),
    "alias_bomb_4": (procedure_text(BAD, extra=_bomb(4)), "front_matter"),
    "alias_bomb_9": (procedure_text(BAD, extra=_bomb(9)), "front_matter"),
    "anchor_only": (procedure_text(BAD, extra="note: &n 备注"), "front_matter"),
    "deep_front_matter": (procedure_text(BAD, extra="x: " + "[" * 60 + "]" * 60), "front_matter"),
    "duplicate_departments": (procedure_text(BAD, departments="[" + ", ".join(["CS"] * 100_000) + "]"),
                              "front_matter"),
    "too_many_departments": (procedure_text(BAD, departments="[" + ", ".join(
        "D" + chr(65 + i // 26) + chr(65 + i % 26) for i in range(60)) + "]"), "departments"),
}


# ---------------------------------------------------------------------------
# fixtures and helpers
# ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _self_approval(app):
    """These tests are about what enters the store, not who approves it: the author may."""
    app.config["PUBLISH_ALLOW_SELF_APPROVAL"] = True


@pytest.fixture(autouse=True)
def _forget_failed_renderings():
    """Failed renderings are remembered per process by blob: tests reuse the same texts."""
    catalog.clear_caches()
    yield
    catalog.clear_caches()


@pytest.fixture
def world(app, make_department, make_user):
    """Department CS; a controller and a reader in it; two procedures for CS at A/0."""
    make_department("CS", "客户服务部")
    make_user("controller", roles=("controller",), department="CS", display_name="文控 周敏")
    make_user("reader", department="CS", display_name="客服 李强")
    seed_procedure(app, BAD)
    seed_procedure(app, GOOD, title="投诉处理规程")
    return app


def _login(app, login) -> Client:
    client = Client(app)
    assert client.login(login).status_code == 302
    client.get("/")
    return client


@pytest.fixture
def controller(world):
    return _login(world, "controller")


@pytest.fixture
def reader(world):
    return _login(world, "reader")


def _push(app, text, code=BAD, summary="fix typo") -> str:
    """Commit ``text`` as ``<code>.md`` on main directly in the bare store, as a plain ``git push`` would."""
    with app.app_context():
        store = get_store()
        return store.commit({f"{code}.md": text}, summary=summary, author=GIT_USER, base=store.head())


def _audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry))


def _open_problems(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [(p.code, p.commit, p.kind) for p in catalog.problems()]


def _current(app, code=BAD) -> str:
    with app.app_context():
        catalog.ensure_synced(commit=True)
        return catalog.get_current(code).version


def _everything_else_works(client, *, skip=()):
    """Lists, search, to-read, the APIs and the good procedure's pages all answer 200."""
    urls = ["/procedures/", "/procedures/?withdrawn=1", "/procedures/?status=review_soon", "/procedures/search?q=回访",
            "/procedures/search?q=规程&all=1", "/acknowledgements/", "/api/v1/procedures",
            "/api/v1/procedures?withdrawn=1", "/api/v1/procedures/search?q=规程&all=1", "/api/v1/acknowledgements",
            f"/procedures/{GOOD}", f"/procedures/{GOOD}/history", f"/procedures/{GOOD}/print",
            f"/api/v1/procedures/{GOOD}", f"/api/v1/procedures/{GOOD}/versions", f"/procedures/{BAD}/history",
            f"/api/v1/procedures/{BAD}/versions"]
    for url in urls:
        if url in skip:
            continue
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code, r.get_data(as_text=True)[:500])


def _publish_fixed(client, app, code=BAD):
    """Publish a corrected version through the API on top of whatever is at the head."""
    r = client.api("POST", f"/api/v1/procedures/{code}/versions",
                   json={"base": head(app), "markdown": procedure_text(code, body=FIXED_BODY), "summary": "修正"})
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.json


# ---------------------------------------------------------------------------
# refused where documents enter
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(n for n, (text, _f) in ATTACKS.items() if isinstance(text, str)))
def test_attacks_are_refused_by_the_api_with_nothing_written(world, controller, name):
    text, field = ATTACKS[name]
    before, audit_before = head(world), _audit_count(world)
    started = time.monotonic()
    r = controller.api("POST", f"/api/v1/procedures/{BAD}/versions",
                       json={"base": before, "markdown": text, "summary": "改"})
    assert r.status_code == 400, r.get_data(as_text=True)[:500]
    if name == "control_char":
        field = "markdown"  # the request-boundary guard sees the control character first
    assert field in r.json["errors"], r.json
    assert sum(len(m) for m in r.json["errors"].values()) <= 12  # a bounded list, not one message per item
    new_code = text.replace(f"code: {BAD}", "code: QP-CS-009")
    r = controller.api("POST", "/api/v1/procedures", json={"markdown": new_code, "summary": "首次发布"})
    assert r.status_code == 400 and field in r.json["errors"], r.get_data(as_text=True)[:500]
    assert time.monotonic() - started < 10
    assert head(world) == before and _audit_count(world) == audit_before
    _everything_else_works(controller)


def test_far_dates_are_refused_with_the_range_in_the_message(world, controller):
    earliest, latest = dates.DEFAULT_EARLIEST, date(dates.local_today().year + dates.DEFAULT_YEARS_AHEAD, 12, 31)
    controller.get("/?lang=en")  # the session's language (the API refuses unknown query parameters)
    for value in ("9999-12-31", "0001-01-01", (latest.replace(year=latest.year + 1)).isoformat(), "1999-12-31"):
        r = controller.api("POST", "/api/v1/procedures", json={
            "markdown": procedure_text("QP-CS-009", effective=value), "summary": "s"})
        assert r.status_code == 400 and "effective" in r.json["errors"], (value, r.json)
        assert r.json["errors"]["effective"] == [
            f"Enter a date between {earliest.isoformat()} and {latest.isoformat()}."], r.json
    for value in (earliest, latest):  # the bounds themselves are fine
        r = controller.api("POST", "/api/v1/procedures", json={
            "markdown": procedure_text(f"QP-CS-{value.year}", effective=value.isoformat()), "summary": "s"})
        assert r.status_code == 201, r.get_data(as_text=True)


def test_attacks_are_refused_by_the_editor_form_and_upload(world, controller):
    base = head(world)
    edit = f"/procedures/{BAD}/edit?lang=en"
    for name in ("far_future", "surrogate_escape", "alias_bomb_9", "duplicate_departments"):
        text, _field = ATTACKS[name]
        r = controller.post(edit, {"mode": "source", "markdown": text, "summary": "改", "base": base})
        assert r.status_code == 400, name
        r = controller.post("/procedures/new?lang=en", {"mode": "source", "markdown": text.replace(BAD, "QP-CS-009"),
                                                        "summary": "s"})
        assert r.status_code == 400, name
    r = controller.post(edit, {"mode": "source", "markdown": ATTACKS["far_future"][0], "summary": "改", "base": base})
    assert "Enter a date between" in r.get_data(as_text=True)
    r = controller.post(edit, {"mode": "source", "markdown": ATTACKS["alias_bomb_4"][0], "summary": "改",
                               "base": base})
    assert "anchors and aliases" in r.get_data(as_text=True)
    # A file with the raw bytes of a lone surrogate, or a YAML escape of one, uploaded.
    for payload in (ATTACKS["surrogate_bytes"][0], ATTACKS["surrogate_escape"][0].encode()):
        r = controller.post(edit, {"summary": "上传", "base": base, "markdown": "",
                                   "file": (io.BytesIO(payload), f"{BAD}.md")}, content_type="multipart/form-data")
        assert r.status_code == 400
    assert head(world) == base


def test_what_is_stored_is_bounded_not_only_what_is_sent(world, controller):
    # A flow list in the front matter is written back one item per line: under 512 KB sent,
    # over 512 KB once serialised. The stored file is what counts.
    extra = "refs: [" + ",".join(["a"] * 8000) + "]"
    body = "x" * (publishing.MAX_DOCUMENT_BYTES - 20_000) + "\n"
    text = procedure_text(BAD, extra=extra, body=body)
    assert len(text.encode()) <= publishing.MAX_DOCUMENT_BYTES
    r = controller.api("POST", f"/api/v1/procedures/{BAD}/versions",
                       json={"base": head(world), "markdown": text, "summary": "改"})
    assert r.status_code == 400 and "markdown" in r.json["errors"], r.get_data(as_text=True)[:300]


def test_cli_import_refuses_far_dates_and_aliases(world, tmp_path):
    folder = tmp_path / "import"
    folder.mkdir()
    (folder / "QP-CS-010.md").write_text(procedure_text("QP-CS-010", effective="9999-12-31"), encoding="utf-8")
    (folder / "QP-CS-011.md").write_text(procedure_text("QP-CS-011", extra=_bomb(4)), encoding="utf-8")
    before = head(world)
    r = world.test_cli_runner().invoke(args=["procedures", "import", str(folder)])
    assert r.exit_code == 1
    assert "QP-CS-010.md" in r.output and "QP-CS-011.md" in r.output
    assert head(world) == before


# ---------------------------------------------------------------------------
# already in the store: recorded, skipped, recovered
# ---------------------------------------------------------------------------

STORE_ATTACKS = ["far_future", "ancient", "surrogate_escape", "surrogate_bytes", "nul_escape", "control_char",
                 "alias_bomb_9", "duplicate_departments", "too_many_departments"]


@pytest.mark.parametrize("name", STORE_ATTACKS)
def test_a_bad_file_pushed_with_git_is_recorded_skipped_and_recovered(world, controller, reader, name):
    text, field = ATTACKS[name]
    bad_commit = _push(world, text.replace("version: A/0", "version: A/1") if isinstance(text, str) else text)

    # Every page works; the bad version is left out, so A/0 stays in force.
    _everything_else_works(reader)
    _everything_else_works(controller)
    r = reader.get(f"/procedures/{BAD}")
    assert r.status_code == 200 and 'data-testid="procedure-version">A/0<' in r.get_data(as_text=True)
    assert reader.get(f"/api/v1/procedures/{BAD}").json["version"] == "A/0"

    # Listed for document controllers (with the field that is wrong), not for readers.
    assert _open_problems(world) == [(BAD, bad_commit, "invalid")]
    with world.app_context():
        assert field in catalog.problems()[0].errors
    index = controller.get("/procedures/").get_data(as_text=True)
    assert 'data-testid="store-problems"' in index
    page = controller.get("/procedures/problems")
    assert page.status_code == 200 and bad_commit[:12] in page.get_data(as_text=True)
    assert 'data-testid="store-problems"' not in reader.get("/procedures/").get_data(as_text=True)
    assert reader.get("/procedures/problems").status_code == 403

    # A rebuild works, keeps the problem (once) and says so.
    r = world.test_cli_runner().invoke(args=["procedures", "sync", "--rebuild"])
    assert r.exit_code == 0, r.output
    assert bad_commit[:12] in r.output
    assert _open_problems(world) == [(BAD, bad_commit, "invalid")]
    _everything_else_works(reader)

    # Publishing a fixed version on top of the bad one recovers, without rewinding main.
    fixed = _publish_fixed(controller, world)
    assert _current(world) == fixed["version"]
    assert _open_problems(world) == []
    with world.app_context():
        resolved = catalog.problems(resolved=True)
        assert [(p.commit, p.resolved_by) for p in resolved] == [(bad_commit, fixed["revision"])]
        assert get_store().history(f"{BAD}.md")[1].sha == bad_commit  # history kept
    assert "4.3 投诉处理完毕后三日内回访" in reader.get(f"/procedures/{BAD}").get_data(as_text=True)
    assert 'data-testid="store-problems"' not in controller.get("/procedures/").get_data(as_text=True)
    _everything_else_works(reader)


def test_a_far_date_mirrored_before_the_checks_no_longer_takes_pages_down(world, controller, reader, monkeypatch):
    # Before the fix nothing checked the range: publish 9999-12-31 the way it went in then.
    monkeypatch.setattr(dates, "date_bounds", lambda today=None: (date.min, date.max))
    r = controller.api("POST", f"/api/v1/procedures/{BAD}/versions", json={
        "base": head(world), "markdown": procedure_text(BAD, effective="9999-12-31", body=FIXED_BODY),
        "summary": "远期", "effective": "9999-12-31"})
    assert r.status_code == 201
    bad_commit = r.json["revision"]
    monkeypatch.undo()
    with world.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProcedureVersion)
                                 .where(ProcedureVersion.commit == bad_commit)) == 1
    # The next-review date saturates instead of raising "year 10000 is out of range".
    _everything_else_works(reader)
    assert reader.get(f"/procedures/{BAD}").status_code == 200
    assert reader.get(f"/procedures/{BAD}/versions/A-1").status_code == 200

    # A rebuild (which migration 0010 triggers) applies today's rules: recorded and left out.
    r = world.test_cli_runner().invoke(args=["procedures", "sync", "--rebuild"])
    assert r.exit_code == 0, r.output
    assert _open_problems(world) == [(BAD, bad_commit, "invalid")]
    assert reader.get(f"/procedures/{BAD}/versions/A-1").status_code == 404
    _everything_else_works(reader)

    # A fixed version goes on top even though the bad one carries a later effective date.
    fixed = _publish_fixed(controller, world)
    assert fixed["version"] == "A/2" and _current(world) == "A/2"
    assert _open_problems(world) == []


def test_a_new_file_that_was_never_valid_can_be_fixed_in_the_editor(world, controller, reader):
    new = "QP-CS-003"
    bad_commit = _push(world, ATTACKS["surrogate_escape"][0].replace(BAD, new), code=new)
    _everything_else_works(reader)
    assert reader.get(f"/procedures/{new}").status_code == 404  # never in the catalogue
    assert _open_problems(world) == [(new, bad_commit, "invalid")]
    page = controller.get("/procedures/problems").get_data(as_text=True)
    assert new in page and f"/procedures/{new}/history" not in page  # no link to a page that does not exist
    # The editor opens on the broken file (its version line counts) and publishes the fix.
    r = controller.get(f"/procedures/{new}/edit")
    assert r.status_code == 200
    r = controller.post(f"/procedures/{new}/edit", {"mode": "source", "markdown": text_today(new, body=FIXED_BODY),
                                                    "summary": "修正", "base": head(world)})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert _current(world, new) == "A/1"
    assert _open_problems(world) == []
    assert "4.3 投诉处理完毕后三日内回访" in reader.get(f"/procedures/{new}").get_data(as_text=True)


def test_migration_0010_makes_the_next_sync_re_examine_what_was_mirrored(world, controller, reader, monkeypatch):
    monkeypatch.setattr(dates, "date_bounds", lambda today=None: (date.min, date.max))
    bad_commit = _push(world, ATTACKS["far_future"][0].replace("version: A/0", "version: A/1"))
    assert _current(world) == "A/0" and not _open_problems(world)  # mirrored as an upcoming version
    monkeypatch.undo()
    with world.app_context():  # what the migration does, then a restart
        from procedures.models import StoreState

        db.session.execute(StoreState.__table__.delete().where(StoreState.key.in_(["main.head", "main.length"])))
        db.session.commit()
    catalog.clear_caches(world)
    _everything_else_works(reader)
    assert _open_problems(world) == [(BAD, bad_commit, "invalid")]
    with world.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProcedureVersion)
                                 .where(ProcedureVersion.commit == bad_commit)) == 0


def test_a_valid_later_version_resolves_and_a_rebuild_keeps_found_at(world, controller):
    first = _push(world, ATTACKS["far_future"][0])
    second = _push(world, ATTACKS["surrogate_escape"][0], summary="again")
    controller.get("/procedures/")
    assert [c for _code, c, _k in _open_problems(world)] == [second, first]
    with world.app_context():
        found = {p.commit: p.found_at for p in catalog.problems()}
    assert world.test_cli_runner().invoke(args=["procedures", "sync", "--rebuild"]).exit_code == 0
    with world.app_context():
        assert {p.commit: p.found_at for p in catalog.problems()} == found
    fixed = _publish_fixed(controller, world)
    assert _open_problems(world) == []
    with world.app_context():
        assert {p.resolved_by for p in catalog.problems(resolved=True)} == {fixed["revision"]}
    # A bad version after a good one is a new, open problem.
    third = _push(world, ATTACKS["ancient"][0], summary="third")
    controller.get("/procedures/")
    assert _open_problems(world) == [(BAD, third, "invalid")]


# ---------------------------------------------------------------------------
# a version that cannot be rendered: an error on its own page only
# ---------------------------------------------------------------------------


def test_a_document_that_cannot_be_rendered_breaks_only_its_own_page(world, controller, reader):
    bad_commit = _push(world, procedure_text(BAD, version="A/1", body="## 1.0 目的\n\n" + _deep_list()))
    started = time.monotonic()
    # Its page shows the error with the document's header; nothing else is affected.
    r = reader.get(f"/procedures/{BAD}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'data-testid="unreadable-notice"' in html and 'data-testid="procedure-version">A/1<' in html
    assert reader.get(f"/procedures/{BAD}/print").status_code == 200
    assert reader.get(f"/procedures/{BAD}/versions/A-1").status_code == 200
    assert reader.get(f"/procedures/{BAD}/versions/A-0").status_code == 200
    r = reader.get(f"/api/v1/procedures/{BAD}")
    assert r.status_code == 503 and r.json["error"] == "unavailable" and r.json["message"]
    assert r.json["details"] == {"code": BAD, "version": "A/1", "revision": bad_commit, "problem": "unreadable"}
    # The to-read list renders every other document and an error for this one.
    r = reader.get("/acknowledgements/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.count('data-testid="unreadable-notice"') == 1 and html.count('data-testid="full-text"') == 1
    _everything_else_works(reader)
    assert time.monotonic() - started < 30
    # The failed rendering is remembered: showing the page again does not render again.
    started = time.monotonic()
    for _ in range(5):
        assert reader.get(f"/procedures/{BAD}").status_code == 200
    assert time.monotonic() - started < 5

    # Listed for document controllers, with a link from the page.
    assert _open_problems(world) == [(BAD, bad_commit, "unreadable")]
    html = controller.get(f"/procedures/{BAD}").get_data(as_text=True)
    assert "/procedures/problems" in html

    # Withdrawn, its page still answers (with the error), and the to-read list drops it.
    r = controller.post(f"/procedures/{BAD}/withdraw", {"reason": "无法显示", "base": head(world)})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert reader.get(f"/procedures/{BAD}").status_code == 200
    assert 'data-testid="unreadable-notice"' not in reader.get("/acknowledgements/").get_data(as_text=True)
    _everything_else_works(reader)


def test_a_deeply_nested_list_sent_to_the_api_never_breaks_other_pages(world, controller, reader):
    r = controller.api("POST", f"/api/v1/procedures/{BAD}/versions", json={
        "base": head(world), "markdown": procedure_text(BAD, body=_deep_list()), "summary": "深层列表"})
    assert r.status_code in (201, 400), r.get_data(as_text=True)[:300]  # refused at write time by rendering limits
    assert reader.get(f"/procedures/{BAD}").status_code == 200
    assert reader.get(f"/api/v1/procedures/{BAD}").status_code in (200, 503)
    _everything_else_works(reader)


def test_a_fixed_version_recovers_an_unrenderable_one(world, controller, reader):
    _push(world, procedure_text(BAD, version="A/1", body=_deep_list()))
    assert 'data-testid="unreadable-notice"' in reader.get(f"/procedures/{BAD}").get_data(as_text=True)
    fixed = _publish_fixed(controller, world)
    assert fixed["version"] == "A/2"
    r = reader.get(f"/procedures/{BAD}")
    assert r.status_code == 200 and "4.3 投诉处理完毕后三日内回访" in r.get_data(as_text=True)
    assert reader.get(f"/api/v1/procedures/{BAD}").status_code == 200
    assert _open_problems(world) == []


def test_any_render_failure_is_caught_per_document_and_never_cached(world, reader, monkeypatch):
    real = catalog.render_cached
    calls = []

    def failing(blob, text):
        calls.append(blob)
        if "回访" in text:
            raise RecursionError("maximum recursion depth exceeded")
        return real(blob, text)

    monkeypatch.setattr(catalog, "render_cached", failing)
    _push(world, procedure_text(BAD, version="A/1", body=FIXED_BODY))
    r = reader.get(f"/procedures/{BAD}")
    assert r.status_code == 200 and 'data-testid="unreadable-notice"' in r.get_data(as_text=True)
    assert r.headers.get("ETag") is None  # an error page is never cached, by us or the browser
    _everything_else_works(reader)
    # Once the renderer copes (or the remembered failure expires), the page renders.
    monkeypatch.setattr(catalog, "render_cached", real)
    monkeypatch.setattr(catalog, "UNRENDERABLE_RETRY_SECONDS", 0)
    r = reader.get(f"/procedures/{BAD}")
    assert 'data-testid="unreadable-notice"' not in r.get_data(as_text=True)
    assert "4.3 投诉处理完毕后三日内回访" in r.get_data(as_text=True)


def test_a_failing_sync_keeps_serving_the_catalogue_as_last_mirrored(world, reader, monkeypatch):
    reader.get("/procedures/")

    failures = []

    def broken(*args, **kwargs):
        failures.append(args)
        raise RuntimeError("disk on fire")

    # A store read failing inside the sync (the one-commit path lists the commit's changes).
    monkeypatch.setattr(GitStore, "diff_paths", broken)
    _push(world, procedure_text(BAD, version="A/1", body=FIXED_BODY))
    _everything_else_works(reader)
    r = reader.get(f"/procedures/{BAD}")
    assert r.status_code == 200 and "4.3 投诉处理完毕后三日内回访" not in r.get_data(as_text=True)  # as last mirrored
    assert failures  # the sync did run into the failing read
    monkeypatch.undo()
    monkeypatch.setattr(catalog, "SYNC_RETRY_SECONDS", 0)
    assert "4.3 投诉处理完毕后三日内回访" in reader.get(f"/procedures/{BAD}").get_data(as_text=True)


def test_commit_metadata_that_does_not_fit_its_columns_is_clipped(world, reader):
    with world.app_context():
        store = get_store()
        store.commit({f"{BAD}.md": procedure_text(BAD, version="A/1", body=FIXED_BODY)}, summary="long",
                     author=Signature("名" * 500, "a" * 300 + "@example.com"), base=store.head(),
                     trailers=[("Approved-by", "审" * 400 + " <x@example.com>"), ("Review", "99999999999999")])
    r = reader.get(f"/procedures/{BAD}")
    assert r.status_code == 200 and "4.3 投诉处理完毕后三日内回访" in r.get_data(as_text=True)
    with world.app_context():
        row = db.session.scalars(select(ProcedureVersion).where(ProcedureVersion.version == "A/1")).one()
        assert len(row.author_name) == 200 and len(row.approved_by) == 300 and row.review_id is None
    assert not _open_problems(world)
    with world.app_context():
        assert db.session.scalar(select(func.count()).select_from(StoreProblem)) == 0
