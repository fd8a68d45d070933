"""The satisfaction dashboard: rates with their intervals, trends and complaint figures (procedure 4.3–4.4)."""
