"""Licences and lineage of models (R1-LIC-001, R1-LIC-002) and the AI bill of materials (`r1policy bom`).

- ``ids``: licence ids: SPDX ids where one exists, the Hub's ids otherwise, ``other:<license_name>``.
- ``table``: the shipped, sourced lineage and obligations table (policies/data/lineage.json).
- ``lineage``: a model's base-model chain to its roots (table, Hub cards, the lock's Hub origin), with a
  depth bound and a cycle check; which licences carry to the deployed model.
- ``facts``: the `licence` record the rules read. ``bom``: CycloneDX 1.6 (cyclonedx-python-lib, lazy).

User documentation: docs/licences-and-bom.md.

Layer 7 (beside `aws`, which it does not import). May import: sources, hub, compliance, facts, rules,
project, core.
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""

# Why R1-LIC-001 / R1-LIC-002 are skipped; here, not in `facts`, so that a check without `licences`
# configured imports no lineage code (cold start, issue 23).
NOT_CONFIGURED = "no `licences` section in the configuration (licences.allowed / licences.denied)"
