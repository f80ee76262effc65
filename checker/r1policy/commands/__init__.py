"""Command implementations, imported lazily by the CLI.

Layer 2 of 13 (below `cli`). May import: audit, guard, securityhub, attest,
formats, artifacts, ruledocs, engine, licences, aws, sources, hub, compliance, facts, rules, project,
core.
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""
