"""``/api/v1/reviews``: the review workflow over JSON (documented in the OpenAPI document)."""
from __future__ import annotations

from flask import Blueprint

from api.openapi import ApiSection

bp = Blueprint("reviews_api", __name__, url_prefix="/api/v1/reviews")

OPENAPI = ApiSection({}, {})
