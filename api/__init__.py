"""The JSON API under ``/api/v1``: token or session auth, JSON errors, OpenAPI document."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from api import views  # noqa: E402,F401  (routes attach to bp)
