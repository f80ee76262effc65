"""The Hugging Face Hub as a source of facts (`huggingface_hub.HfApi` underneath).

- ``r1policy.hub.client.HubClient`` — ``lookup(repo, revision) -> Lookup`` (the repository at one
  commit: ``Lookup.record`` a ``RepoRecord``, ``Lookup.access`` for gated repositories),
  ``org_verified(org) -> bool``, ``file_digest(repo, sha, hub_file) -> (sha256, size)`` for small
  non-LFS files, ``requests`` (calls made). Honours ``HF_ENDPOINT``, ``HF_TOKEN``, ``HF_HUB_OFFLINE``;
  retries 429 / 5xx / timeouts with bounded backoff; one request per (repo, revision) per client; an
  on-disk response cache keyed by repository and commit (``r1policy.hub.cache.HubCache``).
- ``r1policy.hub.errors.HubError`` (a ``SourceError``) with ``kind: HubErrorKind``: repository not
  found, gated without access, revision not found, disabled, rate-limited, server error, timeout,
  network, offline cache miss, bad response, too large. ``kind.definitive`` tells an answer about the
  repository from a transient failure.
- ``r1policy.hub.record.RepoRecord`` — what is kept of a repository at a commit (files with LFS
  digests, gated / disabled, ``_id``, security scan, safetensors parameters, remote code).
- ``r1policy.hub.static.StaticHub`` — the same interface answered from a description (rule cases).

How the facts reach the policies: ``r1policy.engine.hubfacts``; user documentation: docs/hub.md.

Layer 9. May import: compliance, facts, rules, project, core.
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""
