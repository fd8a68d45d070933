"""Demo reference data for the satisfaction records."""
from __future__ import annotations

from satisfaction.categories import ensure_default_categories


def load_demo() -> list[str]:
    ensure_default_categories()
    return ["service categories: ready"]
