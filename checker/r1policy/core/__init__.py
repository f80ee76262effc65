"""The core types every layer shares: findings, the deployment model, errors, positions in input files,
the one JSON entry point, YAML documents with positions, schema validation, bundled resources.

May import: the standard library and third-party libraries only — nothing else from r1policy.
"""
