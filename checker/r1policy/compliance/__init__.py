"""Compliance reporting: framework catalogues and the per-control section of a report (SPEC 8.5).

Layer 10 (beside `facts`, which it does not import). May import: rules, project, core.
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""
