"""Corrective and preventive actions (纠正/预防措施) with their effectiveness checks."""
