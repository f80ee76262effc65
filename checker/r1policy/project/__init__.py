"""The project's own files: the configuration (`r1policy.yaml`), the lock (`r1policy.lock`) and state
snapshots — what a user keeps next to their deployments, read and validated.

Layer 12. May import: core.
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""
