"""Helpers for API views: reading JSON bodies with clear 400s."""
from __future__ import annotations

from flask import request

from webapp.exceptions import ValidationError
from webapp.i18n import _l


def json_body() -> dict:
    """The request's JSON object, or a translated 400 when it is missing or malformed."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError(_l("Send a JSON object with Content-Type: application/json."))
    return data
