"""``flask reviews …``: the schedule and the reminders, for cron."""
from __future__ import annotations

from flask.cli import AppGroup

reviews_cli = AppGroup("reviews", help="Procedure reviews: open the periodic reviews that fall due, send reminders.")
