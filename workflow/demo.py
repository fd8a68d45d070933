"""Demo reviews (``flask demo load``)."""
from __future__ import annotations


def load_demo() -> list[str]:
    return []
