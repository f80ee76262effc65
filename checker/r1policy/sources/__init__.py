"""Sources: turn files (and, later, live AWS, the Hub and artifacts) into deployments and facts.

Layer 8. May import: hub, compliance, facts, rules, project, core.
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""
