"""``flask procedures import DIR``, ``sync``, ``maintenance`` and ``install-hooks``.

Import loads a folder of ``.md`` procedure files (front matter + Markdown) into the
store as first versions: one commit per file, with the usual trailers. Every file is
validated before anything is written; by default one bad file stops the whole import
(fix it and run again), with ``--skip-invalid`` the valid files go in and the bad ones
are listed. A file is never half imported: it is one commit, or nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from accounts.models import Department, User
from audit import service as audit
from procedures import catalog, document, health, hook, rendering, trailers
from procedures.publishing.service import signature_for
from repo_store import Conflict as StoreConflict
from repo_store import Signature, StoreError
from webapp.dates import date_bounds
from webapp.exceptions import DomainError, ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from webapp.store import get_store

procedures_cli = AppGroup("procedures", help="Procedures in the git store: import files, sync the catalogue, "
                                             "maintain the store.")

#: Largest file accepted: the same bound as every stored procedure file.
MAX_FILE_BYTES = document.MAX_FILE_BYTES
DEFAULT_AUTHOR = Signature("ProcDesk import", "import@procdesk.invalid")


@dataclass
class ImportReport:
    imported: list[tuple[str, str, str, str]] = field(default_factory=list)  # (file, code, version, commit)
    errors: dict[str, list[str]] = field(default_factory=dict)  # file -> messages

    @property
    def ok(self) -> bool:
        return not self.errors


def _messages(exc: DomainError) -> list[str]:
    errors = getattr(exc, "errors", None) or {}
    if not errors:
        return [str(exc)]
    return [f"{name}: {message}" for name, messages in errors.items() for message in messages]


def check_file(path: Path, *, existing: set[str], departments: set[str], logins: set[str]) -> document.ProcedureDoc:
    """Parse and validate one file for import; raises :class:`ValidationError` with every problem."""
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        message = _l("The file is larger than %(kb)d KB.", kb=MAX_FILE_BYTES // 1024)
        raise ValidationError(message, errors={"file": [message]})
    stem = path.name[: -len(".md")]
    doc = document.parse(data, expected_code=stem if document.CODE_RE.match(stem) else None,
                         date_bounds=date_bounds())
    errors: dict[str, list] = {}
    if doc.code in existing:
        errors.setdefault("code", []).append(
            _l("Procedure %(code)s already exists; publish a new version instead.", code=doc.code))
    for dept in doc.departments:
        if dept not in departments:
            errors.setdefault("departments", []).append(_l("There is no department with code %(code)s.", code=dept))
    if doc.owner is not None and doc.owner not in logins:
        errors.setdefault("owner", []).append(_l("There is no user with login %(login)s.", login=doc.owner))
    if doc.status != document.STATUS_EFFECTIVE:
        errors.setdefault("status", []).append(_l("An imported procedure must have status 'effective'."))
    try:  # a body beyond the rendering limits is refused like one sent to the editor
        rendering.check_renderable(doc.body)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(_l("The procedure file has errors; please correct the fields listed."), errors=errors)
    return doc


def _text_of(path: Path) -> str:
    text = path.read_bytes().decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def commit_first_version(doc: document.ProcedureDoc, text: str, *, summary: str, author: Signature,
                         approved_by: str | None) -> str:
    """Commit ``text`` as the first version of ``doc.code`` on ``main`` (retrying when other commits land)."""
    store = get_store()
    subject, body, trailer_list = trailers.build_message(doc, summary, approved_by=approved_by)
    for _attempt in range(20):
        head = store.head(catalog.BRANCH)
        if head is not None:
            try:
                store.read(doc.path, head)
            except Exception:  # noqa: BLE001 - not there: good
                pass
            else:
                message = _l("Procedure %(code)s already exists; publish a new version instead.", code=doc.code)
                raise ValidationError(message, errors={"code": [message]})
        try:
            return store.commit({doc.path: text}, summary=subject, body=body, trailers=trailer_list, author=author,
                                base=head, branch=catalog.BRANCH)
        except StoreConflict:
            continue  # someone committed another file meanwhile: try again on the new head
    raise DomainError(_l("The store is too busy; please try again."))


def import_directory(directory: str | Path, *, author: Signature = DEFAULT_AUTHOR, approved_by: str | None = None,
                     summary: str | None = None, skip_invalid: bool = False) -> ImportReport:
    """Import every ``*.md`` file of ``directory`` as the first version of its procedure.

    Validates all files first (front matter, file name = code, departments and owner
    exist, code not in the store yet, no code twice). With errors and not
    ``skip_invalid`` nothing is imported. Each imported file is one commit plus an audit
    entry; the catalogue is synced at the end. The caller commits the database session.
    """
    directory = Path(directory)
    report = ImportReport()
    store = get_store()
    head = store.head(catalog.BRANCH)
    existing = {code for path, _blob in (store.list_files(head) if head else [])
                if (code := document.code_from_path(path))}
    departments = set(db.session.execute(select(Department.code)).scalars())
    logins = set(db.session.execute(select(User.login)).scalars())
    files = sorted(p for p in directory.glob("*.md") if p.is_file())
    valid: list[tuple[Path, document.ProcedureDoc]] = []
    seen: dict[str, str] = {}
    for path in files:
        try:
            doc = check_file(path, existing=existing, departments=departments, logins=logins)
        except ValidationError as exc:
            report.errors[path.name] = _messages(exc)
            continue
        if doc.code in seen:
            report.errors[path.name] = [str(_l("Procedure %(code)s is also in %(file)s.", code=doc.code,
                                               file=seen[doc.code]))]
            continue
        seen[doc.code] = path.name
        valid.append((path, doc))
    if report.errors and not skip_invalid:
        return report
    for path, doc in valid:
        text = _text_of(path)
        try:
            sha = commit_first_version(doc, text, summary=summary or str(_l("Imported from %(file)s", file=path.name)), author=author,
                                       approved_by=approved_by)
        except DomainError as exc:
            report.errors[path.name] = _messages(exc)
            continue
        audit.record("procedure.imported", None, object_type="procedure", object_id=doc.code, git_commit=sha,
                     after={"version": doc.version, "commit": sha, "title": doc.title, "file": path.name,
                            "effective": doc.effective})
        report.imported.append((path.name, doc.code, doc.version, sha))
    catalog.sync()
    return report


def _user_signature(login: str | None) -> tuple[Signature, User | None]:
    if not login:
        return DEFAULT_AUTHOR, None
    user = db.session.execute(select(User).where(User.login == login)).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"no user with login {login!r}")
    return signature_for(user), user


@procedures_cli.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, dir_okay=True))
@click.option("--author", "author_login", default=None, help="Login of the user recorded as author.")
@click.option("--approved-by", "approver_login", default=None, help="Login of the approver (Approved-by trailer).")
@click.option("--summary", default=None, help="Change summary of every imported version.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid files even when others have errors.")
def import_cmd(directory, author_login, approver_login, summary, skip_invalid):
    """Import the .md procedure files in DIRECTORY as first versions."""
    author, _user = _user_signature(author_login)
    approved_by = None
    if approver_login:
        sig, _approver = _user_signature(approver_login)
        approved_by = trailers.person(sig.name, sig.email)
    report = import_directory(directory, author=author, approved_by=approved_by, summary=summary,
                              skip_invalid=skip_invalid)
    db.session.commit()
    for name, code, version, sha in report.imported:
        click.echo(f"imported {name}: {code} {version} ({sha[:12]})")
    for name, messages in report.errors.items():
        for message in messages:
            click.echo(f"ERROR {name}: {message}", err=True)
    if report.errors:
        if not skip_invalid:
            click.echo(f"nothing imported: {len(report.errors)} file(s) with errors "
                       "(fix them, or use --skip-invalid)", err=True)
        raise SystemExit(1)
    click.echo(f"{len(report.imported)} procedure(s) imported")


@procedures_cli.command("sync")
@click.option("--rebuild", is_flag=True, help="Rebuild the whole catalogue from git.")
def sync_cmd(rebuild):
    """Mirror the store's main branch into the catalogue tables."""
    added = catalog.sync(rebuild=rebuild, commit=True)
    click.echo(f"catalogue synced: {added} version(s) added, head {(catalog.synced_head() or '-')[:12]}")
    problems = catalog.problems()
    for problem in problems:
        messages = "; ".join(f"{key}: {m}" for key, values in problem.errors.items() for m in values)
        click.echo(f"problem: {problem.path} at {problem.commit[:12]} ({problem.kind}): {messages}", err=True)
    if problems:
        click.echo(f"{len(problems)} version(s) left out or unreadable: see /procedures/problems", err=True)


@procedures_cli.command("maintenance")
@click.option("--no-gc", is_flag=True, help="Do not pack the store (git gc) after checking it.")
@click.option("--rebuild-catalogue", is_flag=True, help="Rebuild the catalogue from git instead of bringing it up "
                                                         "to date.")
def maintenance_cmd(no_gc, rebuild_catalogue):
    """Clear stale git lock files, check the store (git fsck), pack it (git gc), check the catalogue and
    what the store holds.

    A lock file is removed only when older than STORE_LOCK_STALE_SECONDS (default 300):
    a writer holds one for milliseconds, so an older one was left by a git process that
    was stopped while writing. gc is skipped when fsck finds damage: restore the objects
    first. Then the catalogue is brought up to date with main (rebuilt from git with
    --rebuild-catalogue) and everything the store health page lists is printed: versions
    left out of the catalogue, files the rules refuse, unexpected refs, a missing push hook.
    Exit status 1 when anything is wrong, so cron mails the output, e.g.
    ``30 3 * * * cd /srv/procdesk && .venv/bin/flask --app wsgi procedures maintenance``.
    The git work is the store's (:meth:`repo_store.GitStore.maintenance`); this command reports it.
    """
    store = get_store()
    safe = int(current_app.config["STORE_LOCK_STALE_SECONDS"])
    report = store.maintenance(stale_locks_after=safe, pack=not no_gc)
    for lock in report.removed:
        click.echo(f"removed stale lock {lock.path} (last modified {lock.age:.0f} s ago)")
    for lock in report.stuck:
        click.echo(f"lock {lock.path} is {lock.age:.0f} s old, younger than STORE_LOCK_STALE_SECONDS "
                   f"({safe} s): left alone (a writer may hold it); run again later", err=True)
    if report.fsck.ok:
        click.echo("git fsck: no problems")
    else:
        click.echo(f"git fsck found problems in {store.git_dir}:", err=True)
        click.echo(report.fsck.output.rstrip(), err=True)
        click.echo("restore the damaged objects from a backup or a clone of the store, then run again", err=True)
    if report.packed:
        click.echo("git gc: store packed")
    elif report.pack_error:
        click.echo(f"git gc failed: {report.pack_error}", err=True)
    ok = report.ok
    added = catalog.sync(rebuild=rebuild_catalogue, commit=True)
    click.echo(f"catalogue {'rebuilt' if rebuild_catalogue else 'synced'}: {added} version(s) added, "
               f"head {(catalog.synced_head() or '-')[:12]}")
    problems = catalog.problems()
    for problem in problems:
        messages = "; ".join(f"{key}: {m}" for key, values in problem.errors.items() for m in values)
        click.echo(f"left out of the catalogue: {problem.path} at {problem.commit[:12]} ({problem.kind}): "
                   f"{messages}", err=True)
    found = health.report()
    for f in found.file_problems:
        messages = "; ".join(f"{key}: {m}" for key, values in f.errors.items() for m in values)
        click.echo(f"refused by the rules: {f.branch} {f.path} at {(f.commit or '-')[:12]}: {messages}", err=True)
    for ref in found.unexpected_refs:
        click.echo(f"unexpected ref {ref.ref} at {ref.sha[:12]}: ProcDesk does not use it", err=True)
    if found.hook is None or not found.hook.active:
        click.echo("the pre-receive hook is not installed or not run: plain-git pushes are not checked "
                   "(flask procedures install-hooks)", err=True)
    content_problems = len(problems) + len(found.file_problems) + len(found.unexpected_refs)
    if content_problems:
        click.echo(f"{content_problems} problem(s) in the store: see /procedures/health", err=True)
    else:
        click.echo("store content: no problems")
    if not ok or content_problems or found.hook is None or not found.hook.active:
        raise SystemExit(1)


@procedures_cli.command("install-hooks")
def install_hooks_cmd():
    """Install (or refresh) the store's pre-receive hook, which checks every plain-git push.

    The app does this when it opens the store; run it by hand for a store the app could
    not write, after moving the virtual environment, or to check. Idempotent.
    """
    store = get_store()
    try:
        changed = hook.install(store, current_app.config)
    except StoreError as exc:
        raise click.ClickException(f"cannot install the hook: {exc}") from exc
    state = hook.hook_state(store)
    click.echo(f"{'installed' if changed else 'already installed'}: {state.path}")
    if not state.active:
        click.echo(f"the hook is not run by git: core.hooksPath is {state.hooks_path!r}; unset it for this "
                   "store (git config --unset core.hooksPath)", err=True)
        raise SystemExit(1)


def init_app(app) -> None:
    app.cli.add_command(procedures_cli)
