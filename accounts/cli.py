"""``flask users …``: create users and API tokens from the command line."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from accounts.services import UserData, create_token, create_user, ensure_default_roles, get_user
from webapp.exceptions import DomainError

users_cli = AppGroup("users", help="Create users and API tokens.")


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
    try:
        user = get_user(login)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(create_token(user, name, actor=user))
