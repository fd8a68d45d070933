"""The store's door: the ``pre-receive`` hook that checks every plain ``git push``, and its rules.

ProcDesk writes the store itself with git plumbing (``repo_store``), which never passes
through ``receive-pack``; a person with a clone pushes through it. This hook refuses a
push, before any ref moves, when it would put on ``main`` or on a review branch
(``reviews/<number>``) something the app would not take:

* a procedure file (``<CODE>.md`` at the top) whose front matter or body the editor would
  refuse — the same parser (:func:`procedures.document.parse`) and renderability check,
  so the pusher reads the same translated field messages the editor shows;
* a file outside the layout: only ``<CODE>.md`` and the change records
  ``reviews/<year>/<number>.md`` belong on those branches, as regular files;
* the deletion of a procedure file or a change record (nothing is deleted: a procedure
  is withdrawn);
* a rewrite of history: a non-fast-forward update or the deletion of ``main`` or a review
  branch (sign-offs name draft commits, so drafts are append-only too);
* any other ref: branches under ``procdesk/`` (the audit anchor) are written by ProcDesk
  only, and nothing else (other branches, tags) is taken.

Only what the push changes is read: each new first-parent commit's changed files (git's
``log --raw`` against the first parent), at most :data:`MAX_PUSH_COMMITS` commits and
:data:`MAX_PUSH_FILES` files per push; a bigger push is refused as a whole (push in steps).
What the database knows (that a department or owner exists) is not checked here: the hook
needs only the store and the validator, never the app's database.

Language: the pusher chooses with a push option, ``git push -o lang=en`` (the store
advertises push options), else ``PROCDESK_HOOK_LOCALE`` in the hook's environment, else
the ``DEFAULT_LOCALE`` of the app that installed the hook. The app installs the hook when
it opens the store; ``flask procedures install-hooks`` does it for a store by hand. The
hook script runs ``<the app's python> -m procedures.hook``; if the check itself fails the
push is refused (the door stays shut rather than open).
"""
from __future__ import annotations

import logging
import os
import re
import shlex
import sys
from dataclasses import dataclass, field

from procedures import document
from procedures.rendering import check_renderable
from repo_store import GitStore, RefUpdate, StoreError, parse_ref_updates
from webapp.exceptions import ValidationError
from webapp.i18n import _l

log = logging.getLogger(__name__)

HOOK_NAME = "pre-receive"
#: Written into the hook script; its presence is what "the hook is installed" means.
MARKER = "procdesk-pre-receive-hook v1"
MAIN_BRANCH = "main"
#: Review branches, as ``workflow.drafts.branch_name`` names them (numbers ``R-<year>-<nnn>``).
REVIEW_BRANCH_RE = re.compile(r"\Areviews/R-\d{4}-\d{3,9}\Z")
#: Branches ProcDesk alone writes (the audit anchor, ``audit.service.ANCHOR_BRANCH``).
APP_BRANCH_PREFIX = "procdesk/"
#: Change records, as ``workflow.record.path_for`` names them.
RECORD_RE = re.compile(r"\Areviews/(\d{4})/R-\1-\d{3,9}\.md\Z")
#: Regular files; 100755 only because some systems set the bit on every checked-out file.
FILE_MODES = ("100644", "100755")
MAX_PUSH_COMMITS = 1000
MAX_PUSH_FILES = 5000
#: Ref-level findings are reported under this field name.
REF_FIELD = "ref"
PATH_FIELD = "path"

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Finding:
    """Something a push (or the store) holds that the rules refuse: on ``ref``, in ``commit`` (None for a
    ref-level problem), ``path`` (None likewise) — ``errors`` maps a field to its messages."""

    ref: str
    commit: str | None
    path: str | None
    errors: dict = field(default_factory=dict, hash=False, compare=False)


# --------------------------------------------------------------------------
# The rules for one file and for one ref update
# --------------------------------------------------------------------------

def is_review_branch(branch: str) -> bool:
    return bool(REVIEW_BRANCH_RE.match(branch or ""))


def check_path(path: str, mode: str | None = None) -> dict[str, list]:
    """Layout errors of ``path`` (``{}`` when a procedure file or a change record may live there)."""
    if document.code_from_path(path) is None and not RECORD_RE.match(path):
        return {PATH_FIELD: [_l("This file is outside the store layout: procedures are <CODE>.md at the top "
                                "level, change records reviews/<year>/<number>.md.")]}
    if mode is not None and mode not in FILE_MODES:
        return {PATH_FIELD: [_l("Only regular files are stored (no symbolic links or submodules).")]}
    return {}


def too_large(path: str) -> dict[str, list]:
    """The error for a file beyond :data:`procedures.document.MAX_FILE_BYTES` (the parser's own message)."""
    message = _l("The procedure file is larger than %(kb)d KB.", kb=document.MAX_FILE_BYTES // 1024)
    return {"file": [message]}


def check_content(path: str, data: bytes, bounds) -> dict[str, list]:
    """Errors of the content of a file at an allowed ``path``: a procedure as the editor checks it
    (front matter, file name = code, the body renders), a change record as UTF-8 text."""
    if len(data) > document.MAX_FILE_BYTES:
        return too_large(path)
    code = document.code_from_path(path)
    if code is None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return {"file": [_l("The file is not valid UTF-8 text.")]}
        return {}
    try:
        doc = document.parse(data, expected_code=code, date_bounds=bounds, max_bytes=document.MAX_FILE_BYTES)
    except ValidationError as exc:
        return dict(exc.errors or {"file": [exc.message]})
    except (RecursionError, ValueError, OverflowError, UnicodeError):
        return {"file": [_l("The file cannot be read as a procedure file.")]}
    text = data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    first_line = text[: len(text) - len(doc.body)].count("\n") + 1 if doc.body and text.endswith(doc.body) else 1
    try:
        check_renderable(doc.body, "body", first_line=first_line)
    except ValidationError as exc:
        return dict(exc.errors)
    return {}


def check_deletion(path: str) -> dict[str, list]:
    """Errors of deleting ``path`` (files outside the layout may go: that is how they are cleaned up)."""
    if document.code_from_path(path) is not None:
        return {PATH_FIELD: [_l("A procedure file is never deleted: publish a version with status 'withdrawn' "
                                "instead.")]}
    if RECORD_RE.match(path):
        return {PATH_FIELD: [_l("A change record is never deleted.")]}
    return {}


def check_update(store: GitStore, update: RefUpdate, bounds, *, max_commits: int = MAX_PUSH_COMMITS,
                 max_files: int = MAX_PUSH_FILES) -> list[Finding]:
    """What refuses ``update`` (empty: it may go in). Reads only what the update adds to the ref."""
    ref = update.ref
    branch = ref[len("refs/heads/"):] if ref.startswith("refs/heads/") else None
    if branch is not None and branch.startswith(APP_BRANCH_PREFIX):
        return [_ref_finding(ref, _l("Branch %(ref)s is written by ProcDesk only.", ref=branch))]
    if branch != MAIN_BRANCH and not (branch and is_review_branch(branch)):
        return [_ref_finding(ref, _l("The store takes pushes to main and to review branches "
                                     "(reviews/<number>) only; %(ref)s is refused.", ref=ref))]
    if update.new is None:
        if branch == MAIN_BRANCH:
            return [_ref_finding(ref, _l("The main branch cannot be deleted."))]
        return [_ref_finding(ref, _l("A review branch cannot be deleted: its commits are the review's record."))]
    if update.old is not None:
        if update.old == update.new:
            return []
        if not store.is_ancestor(update.old, update.new):
            return [_ref_finding(ref, _l("History cannot be rewritten: %(ref)s only moves forward (no force "
                                         "push). Fetch, put your commits on top and push again.", ref=branch))]
        exclude = [update.old]
    elif branch == MAIN_BRANCH:
        exclude = []  # a new store's first push: all of it
    else:
        main = store.head(MAIN_BRANCH)
        if main is not None and store.common_ancestor(main, update.new) is None:
            return [_ref_finding(ref, _l("A review branch starts from the main branch."))]
        exclude = [main] if main else []
    files, commits = store.pushed_files(update.new, exclude=exclude, max_commits=max_commits)
    if commits > max_commits or len(files) > max_files:
        return [_ref_finding(ref, _l("This push brings more than %(commits)d commits or %(files)d changed files "
                                     "to %(ref)s; the store checks at most that many at once. Push in steps "
                                     "(git push origin <commit>:%(ref)s).", commits=max_commits, files=max_files,
                                     ref=branch))]
    return check_files(store, ref, files, bounds)


def check_files(store: GitStore, ref: str, files, bounds) -> list[Finding]:
    """Findings for ``files`` (:class:`repo_store.PushedFile` or anything with commit, status, path, blob,
    mode): layout first, then content, reading the blobs in one go and none beyond the size limit."""
    findings: list[Finding] = []
    wanted: list = []
    for f in files:
        if f.status == "D":
            errors = check_deletion(f.path)
        else:
            errors = check_path(f.path, f.mode)
            if not errors:
                wanted.append(f)
                continue
        if errors:
            findings.append(Finding(ref, f.commit, f.path, errors))
    sizes = store.object_sizes(f.blob for f in wanted)
    small = [f.blob for f in wanted if sizes.get(f.blob, 0) <= document.MAX_FILE_BYTES]
    contents = store.read_blobs(small)
    for f in wanted:
        if f.blob not in sizes:
            errors = {"file": [_l("The file cannot be read as a procedure file.")]}
        elif sizes[f.blob] > document.MAX_FILE_BYTES:
            errors = too_large(f.path)
        else:
            errors = check_content(f.path, contents.get(f.blob, b""), bounds)
        if errors:
            findings.append(Finding(ref, f.commit, f.path, errors))
    return findings


def _ref_finding(ref: str, message) -> Finding:
    return Finding(ref, None, None, {REF_FIELD: [message]})


# --------------------------------------------------------------------------
# Installing the hook
# --------------------------------------------------------------------------

#: The settings the hook needs from the app, as the environment variables its script sets.
HOOK_SETTINGS = {
    "PROCDESK_HOOK_LOCALE": "DEFAULT_LOCALE",
    "PROCDESK_HOOK_TIMEZONE": "TIMEZONE",
    "PROCDESK_HOOK_DATE_EARLIEST": "DATE_EARLIEST",
    "PROCDESK_HOOK_DATE_YEARS_AHEAD": "DATE_YEARS_AHEAD",
}


def hook_script(config, *, python: str | None = None) -> str:
    """The ``pre-receive`` script for an app with ``config``: this interpreter (``sys.executable``) runs
    ``-m procedures.hook`` with the project on its path; the app's settings are defaults the environment
    may override."""
    from webapp import PROJECT_ROOT

    lines = ["#!/bin/sh", f"# {MARKER}: written by ProcDesk; `flask procedures install-hooks` writes it again.",
             "# Refuses plain-git pushes the app would not take (see procedures/hook.py)."]
    for variable, key in HOOK_SETTINGS.items():
        value = str(config.get(key) or "")
        if value:
            lines.append(f": \"${{{variable}:={shlex.quote(value)}}}\"")
        lines.append(f"export {variable}")
    lines += [f"PYTHONPATH={shlex.quote(str(PROJECT_ROOT))}${{PYTHONPATH:+:$PYTHONPATH}}", "export PYTHONPATH",
              f"exec {shlex.quote(python or sys.executable)} -m procedures.hook {HOOK_NAME}", ""]
    return "\n".join(lines)


def install(store: GitStore, config, *, check_config: bool = True) -> bool:
    """Install (or refresh) the hook in ``store``; True when the file changed. Also lets pushers send
    push options (``git push -o lang=en``); ``check_config=False`` sets that only with a new hook file
    (app start: no git process when nothing changed)."""
    changed = store.install_hook(HOOK_NAME, hook_script(config))
    if changed or (check_config and store.config_value("receive.advertisePushOptions") != "true"):
        store.set_config("receive.advertisePushOptions", "true")
    return changed


def hook_state(store: GitStore):
    """:class:`repo_store.HookState` of this hook in ``store``."""
    return store.hook_state(HOOK_NAME, MARKER)


def setup(app) -> None:
    """Feature setup: the app installs the hook when it opens the store (the core opens it before the
    features). A store the app cannot write keeps working; the store health page says the hook is missing."""
    store = app.extensions.get("procdesk_store")
    if store is None:
        return
    try:
        if install(store, app.config, check_config=False):
            log.info("installed the %s hook in %s", HOOK_NAME, store.git_dir)
    except StoreError as exc:
        log.warning("cannot install the %s hook in %s: %s", HOOK_NAME, store.git_dir, exc)


# --------------------------------------------------------------------------
# Running as the hook
# --------------------------------------------------------------------------

def _push_option_locale(environ) -> str | None:
    try:
        count = int(environ.get("GIT_PUSH_OPTION_COUNT") or 0)
    except ValueError:
        return None
    for i in range(min(count, 100)):
        key, _sep, value = environ.get(f"GIT_PUSH_OPTION_{i}", "").partition("=")
        if key.strip().lower() in ("lang", "locale"):
            return value.strip()
    return None


def choose_locale(environ) -> str:
    """The language of the hook's messages: push option ``lang=``, else ``PROCDESK_HOOK_LOCALE``, else zh_Hans."""
    from webapp.config import LOCALES

    aliases = {locale.lower().replace("-", "_"): locale for locale in LOCALES}
    aliases.update({"zh": "zh_Hans", "zh_cn": "zh_Hans"})
    for wanted in (_push_option_locale(environ), environ.get("PROCDESK_HOOK_LOCALE")):
        found = aliases.get((wanted or "").strip().lower().replace("-", "_"))
        if found:
            return found
    return "zh_Hans"


def _translation_app(environ, locale: str):
    """A bare Flask app that only carries the translations and date settings (no database, no ProcDesk app)."""
    from flask import Flask
    from flask_babel import Babel

    from webapp import PROJECT_ROOT
    from webapp.i18n_setup import catalogue_dirs

    app = Flask("procdesk_hook", root_path=str(PROJECT_ROOT))
    app.config.update(BABEL_TRANSLATION_DIRECTORIES=";".join(catalogue_dirs(PROJECT_ROOT)),
                      BABEL_DEFAULT_LOCALE=locale, TIMEZONE=environ.get("PROCDESK_HOOK_TIMEZONE") or "Asia/Shanghai")
    if environ.get("PROCDESK_HOOK_DATE_EARLIEST"):
        app.config["DATE_EARLIEST"] = environ["PROCDESK_HOOK_DATE_EARLIEST"]
    if (environ.get("PROCDESK_HOOK_DATE_YEARS_AHEAD") or "").isdigit():
        app.config["DATE_YEARS_AHEAD"] = int(environ["PROCDESK_HOOK_DATE_YEARS_AHEAD"])
    Babel(app, default_locale=locale)
    return app


def _clean(text: str) -> str:
    return _CONTROL_RE.sub("?", str(text).encode("utf-8", "replace").decode("utf-8", "replace"))


def report_lines(findings: list[Finding]) -> list[str]:
    """The refusal as the pusher reads it (call inside the translation context)."""
    lines = [str(_l("ProcDesk refused this push; nothing was changed:"))]
    for f in findings:
        where = f.ref[len("refs/heads/"):] if f.ref.startswith("refs/heads/") else f.ref
        if f.commit:
            where += f" {f.commit[:12]}"
        if f.path:
            where += f" {f.path}"
        lines.append(_clean(where))
        for name, messages in f.errors.items():
            for message in messages:
                lines.append(_clean(f"  {name}: {message}" if name not in (REF_FIELD, PATH_FIELD) else f"  {message}"))
    lines.append(str(_l("Correct what is listed and push again.")))
    return lines


def run(stdin: bytes, environ, git_dir: str, out) -> int:
    """Check the ref updates on ``stdin`` against the store at ``git_dir``; 0 lets the push in."""
    from flask_babel import force_locale

    from webapp import dates

    locale = choose_locale(environ)
    app = _translation_app(environ, locale)
    with app.app_context(), force_locale(locale):
        try:
            updates = parse_ref_updates(stdin)
            store = GitStore(git_dir, auto_gc_every=0)
            try:
                bounds = dates.date_bounds()
                findings = [f for update in updates for f in check_update(store, update, bounds)]
            finally:
                store.close()
        except Exception as exc:  # noqa: BLE001 - the door stays shut when the check cannot run
            out.write(str(_l("ProcDesk could not check this push, so it was refused: %(error)s",
                             error=_clean(exc))) + "\n")
            return 1
        if not findings:
            return 0
        out.write("\n".join(report_lines(findings)) + "\n")
        return 1


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] != [HOOK_NAME]:
        sys.stderr.write(f"usage: python -m procedures.hook {HOOK_NAME}  (git runs it with the ref updates on stdin)\n")
        return 2
    git_dir = os.environ.get("GIT_DIR") or "."
    stdin = sys.stdin.buffer.read(16 * 1024 * 1024)
    return run(stdin, os.environ, os.path.abspath(git_dir), sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
