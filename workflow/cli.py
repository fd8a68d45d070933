"""``flask reviews schedule|remind``: open the periodic reviews that fall due, remind late steps (daily cron).

Both are safe to run on several hosts at once and more than once a day: a review opens once, a
reminder goes out once per person, step and day.
"""
from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from webapp.dates import local_today
from webapp.exceptions import DomainError
from workflow import schedule

reviews_cli = AppGroup("reviews", help="Procedure reviews: open the periodic reviews that fall due, send reminders.")

_TODAY = click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                      help="Act as if today were YYYY-MM-DD (default: today in the company's time zone).")


def _day(value) -> date:
    return value.date() if value is not None else local_today()


def _run(job, day):
    """Run ``job(day)``; a domain error (a bad setting) ends the command with its message and exit code 1."""
    try:
        return job(day)
    except DomainError as exc:
        with force_locale("en"):
            raise click.ClickException(str(exc)) from None


@reviews_cli.command("schedule")
@_TODAY
def schedule_command(today):
    """Open the periodic reviews falling due within REVIEW_LEAD_DAYS (one per department and month)."""
    day = _day(today)
    result = _run(schedule.schedule, day)
    with force_locale("en"):
        for number in result.opened:
            click.echo(f"opened {number}")
        for key, reason in result.skipped:
            click.echo(f"skipped {key}: {reason}")
        click.echo(f"{day.isoformat()}: {len(result.opened)} review(s) opened, {len(result.skipped)} skipped")


@reviews_cli.command("remind")
@_TODAY
def remind_command(today):
    """Remind the participants of overdue steps; escalate to department heads after REVIEW_ESCALATE_DAYS."""
    day = _day(today)
    result = _run(schedule.remind, day)
    for number, n in result.reminded:
        click.echo(f"reminded {number}: {n} participant(s)")
    for number, n in result.escalated:
        click.echo(f"escalated {number}: {n} department head(s)")
    click.echo(f"{day.isoformat()}: {result.overdue} overdue review(s), {result.sent} notice(s) sent")
