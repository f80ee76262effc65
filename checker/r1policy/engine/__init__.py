"""The engine: facts in, Cedar decisions out, mapped back to rules and statuses.

Layer 6. May import: licences, aws, sources, hub, compliance, facts, rules, project, core.
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""
