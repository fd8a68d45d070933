"""``flask audit verify|anchor``: check the audit log and anchor its head in the git store."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from audit.service import AnchorMismatch, anchor, record_unaudited_commits, verify
from webapp.exceptions import DomainError
from webapp.extensions import db
from webapp.store import get_store

audit_cli = AppGroup("audit", help="Check the audit log and anchor its head in the git store.")


@audit_cli.command("verify")
def audit_verify():
    """Check the keyed hash chain, the anchored head and one entry per commit on main; exit 1 when broken."""
    result = verify()
    with force_locale("en"):
        for warning in result.warnings:
            click.echo(f"warning: {warning.message}", err=True)
        if result.ok:
            click.echo(f"audit log intact: {result.checked} entries")
            return
        where = f" at entry {result.broken_id}" if result.broken_id is not None else ""
        click.echo(f"audit log BROKEN{where} ({result.problem}); {result.checked} entries before it are intact",
                   err=True)
        for kind, n in result.counts.items():
            click.echo(f"  {kind}: {n}", err=True)
        for problem in result.problems:
            click.echo(f"  [{problem.kind}] {problem.message}", err=True)
    raise SystemExit(1)


@audit_cli.command("anchor")
@click.option("--force", is_flag=True,
              help="Anchor the current head even though the log no longer reaches the last anchor "
                   "(only after restoring an older database backup on purpose).")
def audit_anchor(force):
    """Record commits of main that lack an audit entry, then commit the log's head to the git store (daily cron)."""
    written = record_unaudited_commits(get_store(), everything=True)
    db.session.commit()
    for entry in written:
        click.echo(f"recorded commit {entry.git_commit[:12]} ({entry.actor_login}) as entry {entry.id}")

    with force_locale("en"):
        try:
            result = anchor(force=force)
        except (AnchorMismatch, ValueError) as exc:
            raise click.ClickException(f"{exc} (after restoring an older backup on purpose: --force)") from exc
        except DomainError as exc:
            raise click.ClickException(str(exc)) from exc
    if result is None:
        click.echo("audit log is empty: nothing to anchor")
        return
    click.echo(f"anchored entry {result.entry_id} ({result.count} entries, hash {result.hash[:12]}) "
               f"in commit {result.commit[:12]}")
