"""Derived facts: what Cedar cannot compute (edit distance, globs, policy documents, capacity tables).

Layer 10 (beside `compliance`). May import: rules, project, core.
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""
