"""The core types every layer shares: findings, the deployment model, errors, positions in input files,
the one JSON entry point, YAML documents with positions, schema validation, bundled resources.

Layer 13, the bottom. May import: nothing from r1policy (the standard library and third-party libraries
only).
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""
