"""The project's own files: the configuration (`r1policy.yaml`), the lock (`r1policy.lock`) and state
snapshots — what a user keeps next to their deployments, read and validated.

Layer 12. May import: core.
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""

# The lock's file name: here, so that `check` looks for a lock without importing the lock reader
# (cold start, issue 23); `lockfile` re-exports it.
DEFAULT_LOCK_NAME = "r1policy.lock"
