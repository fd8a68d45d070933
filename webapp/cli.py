"""Command-line tools: ``flask users …``, ``flask audit verify|anchor``, ``flask demo load``."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from webapp.exceptions import DomainError

users_cli = AppGroup("users", help="Create users and API tokens.")
audit_cli = AppGroup("audit", help="Check the audit log and anchor its head in the git store.")
demo_cli = AppGroup("demo", help="Demo data (never in production).")


@users_cli.command("create")
@click.argument("login")
@click.option("--name", "display_name", required=True, help="Display name.")
@click.option("--email", default="")
@click.option("--role", "roles", multiple=True, help="Role code (admin, controller, manager, participant, clerk, reader).")
@click.option("--project", "projects", multiple=True, help="Project code the user works on.")
@click.option("--department", default=None, help="Department code.")
@click.option("--category", default=None, help="Review participant category.")
@click.password_option(help="Prompted when not given.")
def users_create(login, display_name, email, roles, projects, department, category, password):
    """Create a user."""
    from accounts.services import UserData, create_user, ensure_default_roles

    ensure_default_roles()
    try:
        user = create_user(UserData(login=login, display_name=display_name, email=email, password=password,
                                    role_codes=tuple(roles), project_codes=tuple(projects),
                                    department_code=department, participant_category=category))
    except DomainError as exc:
        details = getattr(exc, "errors", {}) or {}
        raise click.ClickException(f"{exc} {({k: [str(m) for m in v] for k, v in details.items()})}") from exc
    click.echo(f"created {user.login}")


@users_cli.command("token")
@click.argument("login")
@click.option("--name", default="cli", help="A name to recognise the token by.")
def users_token(login, name):
    """Print a new API token for LOGIN (shown once)."""
    from accounts.services import create_token, get_user

    try:
        user = get_user(login)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(create_token(user, name, actor=user))


@audit_cli.command("verify")
def audit_verify():
    """Check the keyed hash chain, the anchored head and one entry per commit on main; exit 1 when broken."""
    from flask_babel import force_locale

    from audit.service import verify

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
    from audit.service import AnchorMismatch, anchor, record_unaudited_commits
    from webapp.extensions import db
    from webapp.store import get_store

    written = record_unaudited_commits(get_store(), everything=True)
    db.session.commit()
    for entry in written:
        click.echo(f"recorded commit {entry.git_commit[:12]} ({entry.actor_login}) as entry {entry.id}")
    from flask_babel import force_locale

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


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
def demo_load(if_empty):
    """Load demo departments, projects, users and documents (idempotent)."""
    from webapp import demo

    if current_app.config["ENV"] == "production":
        raise click.ClickException("demo data is refused when ENV=production")
    if if_empty and not demo.database_is_empty():
        click.echo("database has users; demo data not loaded")
        return
    for line in demo.load():
        click.echo(line)


def init_app(app: Flask) -> None:
    for group in (users_cli, audit_cli, demo_cli):
        app.cli.add_command(group)
    from webapp.i18n_tool import i18n_cli

    app.cli.add_command(i18n_cli)
    from procedures.cli import procedures_cli

    app.cli.add_command(procedures_cli)
