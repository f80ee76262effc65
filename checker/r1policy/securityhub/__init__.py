"""AWS Security Hub delivery for `r1policy publish securityhub`: batching, import, archiving.

Layer 3 (beside `audit` and `guard`). May import: attest, formats, artifacts, ruledocs, engine,
licences, aws, sources, hub, compliance, facts, rules, project, core.
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""
