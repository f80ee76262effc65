"""Rule metadata and the explicit rule registry.

Layer 11. May import: project, core.
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""
