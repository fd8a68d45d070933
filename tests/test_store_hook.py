"""Issue 13 §2: plain-git pushes are checked at the door, and what got in anyway is shown.

Every test works on a real store created by the app and a real ``git clone`` of it: a push
the editor would refuse (front matter, a file outside the layout, a rewrite of history) is
refused by the store's ``pre-receive`` hook with the editor's own field message, nothing
moves; a valid push is accepted and shows up in the app. Review branches get the same
checks. What is written around the hook (hooks switched off for one push, as anyone with
the store's folder could) is listed on the store health page for document controllers,
with commit, file and errors; others get a 403.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask_babel import force_locale
from markupsafe import escape

from audit.service import ANCHOR_BRANCH
from procedures import hook
from procedures.document import MAX_FILE_BYTES
from tests.conftest import Client
from tests.factories_procedures import commit_version
from tests.factories_publishing import BODY, head, procedure_text
from webapp.i18n import _l
from webapp.store import get_store
from workflow import drafts, record

CODE = "QP-CS-001"
REVIEW = "reviews/R-2026-001"
GIT_ENV = {"GIT_AUTHOR_NAME": "外部 用户", "GIT_AUTHOR_EMAIL": "ext@example.com", "GIT_COMMITTER_NAME": "外部 用户",
           "GIT_COMMITTER_EMAIL": "ext@example.com", "GIT_TERMINAL_PROMPT": "0"}

BAD_DATE = _l("The effective date must be a valid date written as YYYY-MM-DD.")
OUTSIDE = _l("This file is outside the store layout: procedures are <CODE>.md at the top level, change records "
             "reviews/<year>/<number>.md.")
REFUSED = _l("ProcDesk refused this push; nothing was changed:")


def _git(*args, cwd=None, check=True, env=None):
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, **GIT_ENV, **(env or {})})
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _say(app, message, locale="zh_Hans") -> str:
    """``message`` in ``locale``, as the app renders it."""
    with app.test_request_context(), force_locale(locale):
        return str(message)


@pytest.fixture
def world(app, make_department, make_user):
    """Department CS, a controller and a reader, one procedure at A/0 committed as the app publishes."""
    make_department("CS", "客户服务部")
    make_user("controller", roles=("controller",), department="CS", display_name="文控 周敏")
    make_user("reader", department="CS", display_name="客服 李强")
    commit_version(app, CODE, body=BODY)
    return app


@pytest.fixture
def clone(world, tmp_path):
    """A plain ``git clone`` of the app's store."""
    with world.app_context():
        bare = get_store().git_dir
    work = tmp_path / "clone"
    _git("clone", "-q", bare, str(work))
    return work


def _login(app, login) -> Client:
    client = Client(app)
    assert client.login(login).status_code == 302
    return client


def _commit(clone, files: dict, message="plain git change"):
    for path, text in files.items():
        target = clone / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8")
        _git("add", path, cwd=clone)
    _git("commit", "-q", "-m", message, cwd=clone)
    return _git("rev-parse", "HEAD", cwd=clone).stdout.strip()


def _push(clone, *refspec, options=(), check=False, around_hook=False):
    # Around the hook: a receive-pack told to look for hooks elsewhere, as anyone with a shell on the server can.
    # (``git -c core.hooksPath=… push`` does not do it: git keeps the pusher's config from the receiving side.)
    args = ["--receive-pack=git -c core.hooksPath=/dev/null receive-pack"] if around_hook else []
    opts = [x for o in options for x in ("-o", o)]
    return _git("push", *args, *opts, "origin", *refspec, cwd=clone, check=check)


def _refused(result, app, *messages, locale="zh_Hans"):
    assert result.returncode != 0, result.stderr
    assert "pre-receive hook declined" in result.stderr
    assert _say(app, REFUSED, locale) in result.stderr
    for message in messages:
        assert _say(app, message, locale) in result.stderr, result.stderr


def _bad_date_text():
    return procedure_text(CODE, version="A/1", body=BODY).replace("effective: 2026-01-01", "effective: 2026-13-01")


# ---------------------------------------------------------------------------
# the door
# ---------------------------------------------------------------------------

def test_the_app_installs_the_hook_and_the_rules_match_the_app(world):
    with world.app_context():
        store = get_store()
        state = hook.hook_state(store)
        assert state.installed and state.active
        assert store.config_value("receive.advertisePushOptions") == "true"
        assert hook.MARKER in Path(state.path).read_text(encoding="utf-8")
    # The layout the hook enforces is the one the app writes.
    review = SimpleNamespace(number="R-2026-001")
    assert hook.is_review_branch(drafts.branch_name(review))
    assert hook.RECORD_RE.match(record.path_for(review))
    assert ANCHOR_BRANCH.startswith(hook.APP_BRANCH_PREFIX)


def test_invalid_front_matter_is_refused_with_the_editors_field_message(world, clone):
    before = head(world)
    bad = _commit(clone, {f"{CODE}.md": _bad_date_text()})
    result = _push(clone, "HEAD:main")
    _refused(result, world, BAD_DATE)
    assert f"main {bad[:12]} {CODE}.md" in result.stderr
    assert "effective: " in result.stderr
    assert head(world) == before  # nothing moved
    # The pusher chooses the language with a push option.
    _refused(_push(clone, "HEAD:main", options=("lang=en",)), world, BAD_DATE, locale="en")
    assert head(world) == before


def test_a_valid_push_is_accepted_and_shown_by_the_app(world, clone):
    sha = _commit(clone, {"QP-PUSH-001.md": procedure_text("QP-PUSH-001", title="外部推送的规程")},
                  "Add a procedure by plain git")
    result = _push(clone, "HEAD:main")
    assert result.returncode == 0, result.stderr
    assert head(world) == sha
    reader = _login(world, "reader")
    page = reader.get("/procedures/").get_data(as_text=True)
    assert "QP-PUSH-001" in page and "外部推送的规程" in page
    assert reader.get("/procedures/QP-PUSH-001").status_code == 200


def test_files_outside_the_layout_are_refused(world, clone):
    before = head(world)
    _commit(clone, {"notes/readme.txt": "x\n", "qp-cs-009.md": procedure_text("QP-CS-009")})
    result = _push(clone, "HEAD:main")
    _refused(result, world, OUTSIDE)
    assert "notes/readme.txt" in result.stderr and "qp-cs-009.md" in result.stderr
    assert head(world) == before
    # A symbolic link with a procedure's name is not a procedure file either.
    _git("reset", "-q", "--hard", "origin/main", cwd=clone)
    os.symlink(f"{CODE}.md", clone / "QP-CS-002.md")
    _git("add", "QP-CS-002.md", cwd=clone)
    _git("commit", "-q", "-m", "link", cwd=clone)
    _refused(_push(clone, "HEAD:main"), world, _l("Only regular files are stored (no symbolic links or submodules)."))
    # Too large, and deleting a procedure: refused too.
    _git("reset", "-q", "--hard", "origin/main", cwd=clone)
    big = procedure_text(CODE, version="A/1", body=BODY + "x" * MAX_FILE_BYTES)
    _commit(clone, {f"{CODE}.md": big})
    _refused(_push(clone, "HEAD:main"), world, _l("The procedure file is larger than %(kb)d KB.",
                                                   kb=MAX_FILE_BYTES // 1024))
    _git("reset", "-q", "--hard", "origin/main", cwd=clone)
    _git("rm", "-q", f"{CODE}.md", cwd=clone)
    _git("commit", "-q", "-m", "remove", cwd=clone)
    _refused(_push(clone, "HEAD:main"), world, _l("A procedure file is never deleted: publish a version with "
                                                   "status 'withdrawn' instead."))
    assert head(world) == before


def test_an_invalid_commit_fixed_later_in_the_same_push_is_still_refused(world, clone):
    """Every first-parent commit is checked, as the catalogue mirrors each of them."""
    _commit(clone, {f"{CODE}.md": _bad_date_text()}, "broken")
    _commit(clone, {f"{CODE}.md": procedure_text(CODE, version="A/1", body=BODY + "\n4.9 修正\n")}, "fixed")
    _refused(_push(clone, "HEAD:main"), world, BAD_DATE)


def test_history_cannot_be_rewritten(world, clone):
    first = _commit(clone, {f"{CODE}.md": procedure_text(CODE, version="A/1", body=BODY + "\n4.9 一\n")})
    assert _push(clone, "HEAD:main").returncode == 0
    assert head(world) == first
    history = _l("History cannot be rewritten: %(ref)s only moves forward (no force push). Fetch, put your "
                 "commits on top and push again.", ref="main")
    # Amend the pushed commit and force it over main.
    (clone / f"{CODE}.md").write_text(procedure_text(CODE, version="A/1", body=BODY + "\n4.9 改\n"), encoding="utf-8")
    _git("commit", "-q", "-a", "--amend", "-m", "rewritten", cwd=clone)
    _refused(_push(clone, "--force", "HEAD:main"), world, history)
    # Rewind main to the app's first commit.
    _git("reset", "-q", "--hard", "HEAD~1", cwd=clone)
    _refused(_push(clone, "--force", "HEAD:main"), world, history)
    _refused(_push(clone, ":main"), world, _l("The main branch cannot be deleted."))
    assert head(world) == first


def test_review_branches_get_the_same_checks_and_only_move_forward(world, clone):
    # A new review branch from main with a valid draft: accepted.
    _git("checkout", "-q", "-b", "draft", cwd=clone)
    draft = _commit(clone, {f"{CODE}.md": procedure_text(CODE, body=BODY + "\n4.9 草稿\n")}, "draft")
    assert _push(clone, f"HEAD:{REVIEW}").returncode == 0
    with world.app_context():
        assert get_store().head(REVIEW) == draft
    # An invalid draft, a file outside the layout: refused like on main.
    _commit(clone, {f"{CODE}.md": _bad_date_text(), "scratch.md": "x\n"}, "bad draft")
    result = _push(clone, f"HEAD:{REVIEW}")
    _refused(result, world, BAD_DATE, OUTSIDE)
    assert f"{REVIEW} " in result.stderr
    # Drafts are append-only: sign-offs name their commits.
    _git("reset", "-q", "--hard", "HEAD~2", cwd=clone)
    _commit(clone, {f"{CODE}.md": procedure_text(CODE, body=BODY + "\n4.9 另一稿\n")}, "other")
    _refused(_push(clone, "--force", f"HEAD:{REVIEW}"), world, _l(
        "History cannot be rewritten: %(ref)s only moves forward (no force push). Fetch, put your commits on top "
        "and push again.", ref=REVIEW))
    _refused(_push(clone, f":{REVIEW}"), world, _l("A review branch cannot be deleted: its commits are the "
                                                   "review's record."))
    # A branch with unrelated history is no review branch.
    _git("checkout", "-q", "--orphan", "orphan", cwd=clone)
    _git("rm", "-q", "-rf", ".", cwd=clone)
    _commit(clone, {f"{CODE}.md": procedure_text(CODE)}, "unrelated")
    _refused(_push(clone, "HEAD:reviews/R-2026-002"), world, _l("A review branch starts from the main branch."))
    # Other refs: other branches, tags, the audit anchor.
    _git("checkout", "-q", "draft", cwd=clone)
    _refused(_push(clone, "HEAD:feature"), world, _l(
        "The store takes pushes to main and to review branches (reviews/<number>) only; %(ref)s is refused.",
        ref="refs/heads/feature"))
    _git("tag", "v1", cwd=clone)
    assert _push(clone, "v1").returncode != 0
    _refused(_push(clone, f"HEAD:{ANCHOR_BRANCH}"), world, _l("Branch %(ref)s is written by ProcDesk only.",
                                                               ref=ANCHOR_BRANCH))
    with world.app_context():
        store = get_store()
        assert store.head(REVIEW) == draft
        assert {r.ref for r in store.refs_overview()} == {"refs/heads/main", f"refs/heads/{REVIEW}"}


def test_the_apps_own_writes_do_not_go_through_the_hook(world, clone):
    """The app writes with plumbing (compare-and-swap on the ref); the hook never sees it, and a clone
    pulls it and pushes on top."""
    app_sha = commit_version(world, CODE, "A/1", body=BODY + "\n4.8 应用发布\n", summary="应用发布")
    assert head(world) == app_sha
    _git("pull", "-q", "--ff-only", cwd=clone)
    text = (clone / f"{CODE}.md").read_text(encoding="utf-8").replace("version: A/1", "version: A/2")
    sha = _commit(clone, {f"{CODE}.md": text + "\n4.10 推送\n"})
    assert _push(clone, "HEAD:main").returncode == 0
    assert head(world) == sha


def test_install_hooks_on_an_existing_store(world, clone):
    with world.app_context():
        path = hook.hook_state(get_store()).path
    os.unlink(path)  # a store from before the hook
    _commit(clone, {f"{CODE}.md": _bad_date_text()})
    with world.app_context():
        assert not hook.hook_state(get_store()).installed
    runner = world.test_cli_runner()
    result = runner.invoke(args=["procedures", "install-hooks"])
    assert result.exit_code == 0, result.output
    assert f"installed: {path}" in result.output
    assert "already installed" in runner.invoke(args=["procedures", "install-hooks"]).output
    _refused(_push(clone, "HEAD:main"), world, BAD_DATE)


# ---------------------------------------------------------------------------
# what got in anyway: the store health page
# ---------------------------------------------------------------------------

def _rows(html: str, testid: str) -> list[str]:
    return [part.split(">", 1)[0] for part in html.split(f'data-testid="{testid}"')[1:]]


def test_files_written_around_the_hook_are_on_the_health_page(world, clone):
    # Hooks switched off for one push (anyone with the store's folder can): a stray file and a bad version.
    stray = _commit(clone, {"notes.txt": "scratch\n"}, "stray file")
    bad = _commit(clone, {f"{CODE}.md": _bad_date_text()}, "bad date")
    assert _push(clone, "HEAD:main", around_hook=True).returncode == 0
    _git("checkout", "-q", "-b", "draft", "HEAD~2", cwd=clone)
    draft_bad = _commit(clone, {f"{CODE}.md": _bad_date_text()}, "bad draft")
    assert _push(clone, f"HEAD:{REVIEW}", around_hook=True).returncode == 0
    assert _push(clone, "HEAD:refs/tags/stray-tag", around_hook=True).returncode == 0

    controller = _login(world, "controller")
    index = controller.get("/procedures/").get_data(as_text=True)
    assert 'data-testid="store-problems"' in index and "/procedures/problems" in index
    page = controller.get("/procedures/health")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    older = controller.get("/procedures/problems").get_data(as_text=True)  # the page's older address
    assert _rows(older, "file-problem") == _rows(html, "file-problem")
    # The catalogue left the bad version out, with its commit and the field.
    assert f'data-code="{CODE}" data-commit="{bad}"' in html
    # The stray file on main and the bad draft, each with its commit and errors.
    files = _rows(html, "file-problem")
    assert f' data-branch="main" data-path="notes.txt" data-commit="{stray}"' in files
    assert f' data-branch="{REVIEW}" data-path="{CODE}.md" data-commit="{draft_bad}"' in files
    assert str(escape(_say(world, OUTSIDE))) in html and str(escape(_say(world, BAD_DATE))) in html
    assert "stray file" in html and "bad draft" in html
    # The tag is no ref ProcDesk uses: it is named; the hook is installed; no maintenance has run yet.
    assert 'data-testid="unexpected-refs"' in html and "refs/tags/stray-tag" in html
    assert 'data-testid="hook-state" data-state="active"' in html
    assert 'data-fsck="none"' in html

    # Only document controllers.
    reader = _login(world, "reader")
    assert reader.get("/procedures/health").status_code == 403
    assert reader.get("/procedures/problems").status_code == 403
    assert 'data-testid="store-problems"' not in reader.get("/procedures/").get_data(as_text=True)

    # The nightly maintenance reports the same and fails so cron mails it.
    result = world.test_cli_runner().invoke(args=["procedures", "maintenance", "--no-gc"])
    assert result.exit_code == 1
    for text in ("git fsck: no problems", "notes.txt", stray[:12], draft_bad[:12], bad[:12], "refs/tags/stray-tag"):
        assert text in result.output, result.output
    html = controller.get("/procedures/health").get_data(as_text=True)
    assert 'data-fsck="ok"' in html


def test_a_clean_store_is_healthy(world):
    result = world.test_cli_runner().invoke(args=["procedures", "maintenance"])
    assert result.exit_code == 0, result.output
    assert "store content: no problems" in result.output and "git gc: store packed" in result.output
    controller = _login(world, "controller")
    html = controller.get("/procedures/health").get_data(as_text=True)
    assert 'data-testid="no-store-problems"' in html and 'data-testid="no-file-problems"' in html
    assert 'data-testid="unexpected-refs"' not in html and 'data-fsck="ok"' in html
    assert 'data-ref="refs/heads/main"' in html
    assert 'data-testid="store-problems"' not in controller.get("/procedures/").get_data(as_text=True)
    # A missing hook is a problem of its own.
    with world.app_context():
        os.unlink(hook.hook_state(get_store()).path)
    html = controller.get("/procedures/health").get_data(as_text=True)
    assert 'data-testid="hook-state" data-state="missing"' in html
    result = world.test_cli_runner().invoke(args=["procedures", "maintenance", "--no-gc"])
    assert result.exit_code == 1 and "install-hooks" in result.output
