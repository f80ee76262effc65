"""`r1policy audit`: the live (or snapshot) inventory judged by the whole rule pack, written as a report run.

A run is one folder `<report dir>/<run id>/` (run id = the UTC start time, `2026-11-25T020000Z`) with
`audit.json` (the JSON v1 report plus an additive `audit` block: scope, inventory per account and region,
diff against the baseline, trend), `audit.md` and a self-contained `audit.html`. The folder is written
under a temporary name and renamed into place, so a run is either complete or absent.

Modules: `run` (run metadata), `diff` (finding identity and new / resolved / persisting), `history`
(previous runs in the report dir, baseline), `document` (the audit.json document), `markdown`, `html`
and `chart` (renderers, all reading the document so the three files agree), `reportdir` (atomic folder
write), `world` (what is audited: live through `r1policy.aws`, or a state snapshot).

Layer 3 (beside `guard` and `securityhub`, which it does not import). May import: attest, formats,
artifacts, ruledocs, engine, licences, aws, sources, hub, compliance, facts, rules, project, core.
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""
