"""Signed gate decisions: `check --attest FILE` writes an in-toto v1 Statement in a DSSE envelope
(securesystemslib's Envelope and signers), `verify-attestation` and the deploy guard check it.

Layout: `statement` builds the Statement (subjects, predicate, digests), `keys` loads signers and
trusted public keys (PEM files, an asymmetric AWS KMS key), `envelope` signs and verifies, `guardcheck`
is the deploy guard's CreateModel check. securesystemslib and cryptography are imported lazily (the
`trust` extra).

Layer 4 (beside `formats`, which it does not import). May import: artifacts, ruledocs, engine, licences,
aws, sources, hub, compliance, facts, rules, project, core.
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = "https://r1policy.dev/attestation/gate-decision/v1"
PREDICATE_SCHEMA = "attestation-predicate-v1.schema.json"
ENV_ATTESTATIONS = "R1POLICY_ATTESTATIONS"
