"""Compliance reporting: framework catalogues and the per-control section of a report (SPEC 8.5)."""
