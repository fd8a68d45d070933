"""The core's command-line tools: ``flask demo load`` and ``flask i18n …``.

Features add their own groups (``flask users``, ``flask audit``, ``flask procedures`` …) in their
:class:`webapp.features.Feature` records.
"""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from webapp import demo
from webapp.i18n_tool import i18n_cli

demo_cli = AppGroup("demo", help="Demo data (never in production).")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
def demo_load(if_empty):
    """Load demo departments, projects, users and documents (idempotent)."""
    if current_app.config["ENV"] == "production":
        raise click.ClickException("demo data is refused when ENV=production")
    if if_empty and not demo.database_is_empty():
        click.echo("database has users; demo data not loaded")
        return
    for line in demo.load():
        click.echo(line)


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_cli)
    app.cli.add_command(i18n_cli)
