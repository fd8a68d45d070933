"""``flask backup create [DIR]``, ``flask backup verify FILE`` and ``flask backup restore FILE``."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from backup import mirrors, service
from webapp.exceptions import DomainError
from webapp.i18n import _
from webapp.store import get_store

backup_cli = AppGroup("backup", help="Back up the database and the git store into one archive; verify; restore.")


def _fail(exc: DomainError):
    raise click.ClickException(str(exc)) from None


@backup_cli.command("create")
@click.argument("directory", required=False, type=click.Path(file_okay=False, dir_okay=True))
@click.option("--with-secrets", is_flag=True,
              help="Also put SECRET_KEY and AUDIT_KEY into the archive (keep such an archive like the keys).")
def create_cmd(directory, with_secrets):
    """Write one archive (database, git store, manifest) into DIRECTORY (default: BACKUP_DIR or instance/backups)."""
    try:
        path, manifest = service.create_backup(directory, with_secrets=with_secrets)
    except DomainError as exc:
        _fail(exc)
    tables = manifest["database"]["tables"]
    click.echo(_("Backup written: %(path)s", path=str(path)))
    click.echo(_("%(tables)d tables, %(rows)d rows (schema revision %(revision)s); %(refs)d branches of the git "
                 "store; %(entries)d audit entries.", tables=len(tables), rows=sum(t["rows"] for t in tables),
                 revision=manifest["database"]["revision"], refs=len(manifest["store"]["refs"]),
                 entries=manifest["audit"]["entries"]))
    attachments = manifest["attachments"]
    if attachments["files"]:
        click.echo(_("%(n)d attached files.", n=attachments["files"]))
    if attachments["missing"]:
        click.echo(_("%(n)d files that attachments name are missing from the attachments folder: %(names)s",
                     n=len(attachments["missing"]), names=", ".join(attachments["missing"][:10])), err=True)
    if with_secrets:
        click.echo(_("The archive holds SECRET_KEY and AUDIT_KEY: keep it as safe as the keys themselves."))


def _report_verified(report: service.VerifyReport) -> None:
    click.echo(_("%(tables)d tables, %(rows)d rows, %(refs)d branches of the git store: every part matches its "
                 "SHA-256, the store bundle passes git's check.", tables=report.tables, rows=report.rows,
                 refs=report.refs))
    if report.attachments:
        click.echo(_("%(n)d attached files.", n=report.attachments))
    if report.audit_key == "archive":
        click.echo(_("Audit log: %(n)d entries, chain and keyed hashes intact (checked with the archive's key).",
                     n=report.audit_entries))
    elif report.audit_key == "configuration":
        click.echo(_("Audit log: %(n)d entries, chain and keyed hashes intact (checked with the configured "
                     "AUDIT_KEY).", n=report.audit_entries))
    else:
        click.echo(_("Audit log: %(n)d entries, chain links intact; keyed hashes not checked (no key).",
                     n=report.audit_entries))
    for note in report.notes:
        click.echo(str(note))


@backup_cli.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
def verify_cmd(file):
    """Check an archive (manifest, hashes, bundle, audit chain) without touching the live system."""
    try:
        report = service.verify_backup(file)
    except DomainError as exc:
        _fail(exc)
    click.echo(_("Backup intact: %(path)s (made %(at)s)", path=file, at=report.manifest.get("created_at", "?")))
    _report_verified(report)


def _only_the_key(result, report: service.RestoreReport) -> bool:
    """True when the restored log's one problem is that this instance's AUDIT_KEY is not the log's, and the
    archive brought no key: the restore itself succeeded; the operator configures the key."""
    return "AUDIT_KEY" not in report.verified.manifest.get("secrets", []) and bool(result.problems) and all(
        p.kind == "forged" and p.detail == "all" for p in result.problems)


@backup_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
def restore_cmd(file):
    """Restore an archive into an empty database and an empty store, then verify the audit log and rebuild
    the procedure catalogue. Refuses anything that is not empty."""
    try:
        report = service.restore_backup(file)
    except DomainError as exc:
        _fail(exc)
    _report_verified(report.verified)
    click.echo(_("Restored: database at schema revision %(revision)s, git store from the bundle.",
                 revision=report.revision))
    if report.upgraded_to:
        click.echo(_("Database migrated to schema revision %(revision)s.", revision=report.upgraded_to))
    for name, outcome in report.secrets.items():
        if outcome == "installed":
            click.echo(_("%(name)s installed in the instance folder from the archive.", name=name))
        elif outcome == "configured elsewhere":
            click.echo(_("%(name)s is set in the configuration and differs from the archive's: set it to the "
                         "archive's value (secrets.json in the archive).", name=name), err=True)
    if not report.verified.manifest.get("secrets"):
        click.echo(_("The archive holds no secrets: sessions made before the backup have ended (everyone logs in "
                     "again), and the audit log verifies only with the AUDIT_KEY it was written with."))
    result = report.audit
    if result is not None and result.ok:
        click.echo(_("Audit log intact: %(n)d entries.", n=result.total))
    elif result is not None and _only_the_key(result, report):
        click.echo(_("Audit log: this instance's AUDIT_KEY is not the one the log was written with, so “flask audit "
                     "verify” fails until that key is configured (its links were checked above)."), err=True)
    elif result is not None:
        for problem in result.problems:
            click.echo(f"[{problem.kind}] {problem.message}", err=True)
    if report.catalogue_added is not None:
        click.echo(_("Procedure catalogue rebuilt from the git store: %(n)d versions.", n=report.catalogue_added))
    if result is not None and not result.ok and not _only_the_key(result, report):
        raise click.ClickException(_("The restored audit log does not verify (see above); “flask audit verify” "
                                     "tells the same."))


@backup_cli.command("mirror")
@click.option("--status", "show_status", is_flag=True, help="Only show how the last push to each mirror went.")
def mirror_cmd(show_status):
    """Push every ref of the git store to the mirrors in STORE_MIRRORS now (exit 1 when one fails)."""
    urls = current_app.config.get("STORE_MIRRORS") or ()
    if not urls:
        click.echo(_("No mirrors are configured (STORE_MIRRORS)."))
        return
    git_dir = get_store().git_dir
    results = mirrors.status(git_dir) if show_status else mirrors.push_all(git_dir, urls)
    for result in results:
        if result.ok:
            click.echo(_("%(url)s: pushed at %(at)s.", url=result.url, at=result.at))
        else:
            click.echo(_("%(url)s: push FAILED at %(at)s: %(error)s", url=result.url, at=result.at,
                         error=result.error), err=True)
    if show_status and not results:
        click.echo(_("Nothing was pushed to the mirrors yet."))
    if any(not r.ok for r in results):
        raise SystemExit(1)
