"""The command line's argument definitions, one module per command group.

Only `argparse` and option helpers are imported here (never a command's implementation): the parser is
built for every invocation, including `--help`, so this package must stay cheap to import.

- `common`: the parser class (errors are `UsageError`, exit 2) and the options several commands share.
- `judge`: the commands that judge and report findings: `check`, `audit`, `scan`, `bom`.
- `inputs`: the commands that prepare what judging reads: `lock`, `snapshot`, `advisories`.
- `deliver`: the commands that hand results on or verify them: `publish`, `verify-attestation`.
- `catalogue`: the rule and framework catalogues: `policies`, `compliance`.
"""
