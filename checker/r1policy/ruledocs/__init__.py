"""Rule documentation: `markdown` renders a rule's metadata as Markdown (what `r1policy policies show ID`
prints and what SARIF carries as a rule's help) and writes `docs/rules/` (`python -m r1policy.ruledocs
[--out DIR] [--check]`).

Layer 5 (beside `artifacts`). May import: engine, licences, aws, sources, hub, compliance, facts, rules,
project, core.
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""
