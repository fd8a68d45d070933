"""The JSON API under ``/api/v1``: token or session auth, JSON errors, the OpenAPI document that every
feature's ``OPENAPI`` section adds to."""
from webapp.features import Feature

FEATURE = Feature(name="api", blueprints=("api.views",))
