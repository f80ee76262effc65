"""R1-ART-011: OpenSSF model signatures (the `model-signing` package's format: a Sigstore bundle holding
a DSSE-signed in-toto Statement whose predicate lists every file's digest).

The bundle's signature is verified with model-signing's own verifiers (EC public keys, certificate
chains, Sigstore identities with an offline trust root); the signed manifest is then compared with the
SHA-256 digests the scanner computed while reading each file once, so no byte is read twice. Every file
of the target must be listed and match; files in the manifest that are gone, files it does not list,
changed files, an untrusted signer and an unreadable or unsupported bundle are findings naming the file.
Exempt from coverage, as model-signing exempts them: the signature file itself and git metadata
(`.gitattributes`, `.gitignore`, `.git/`, `.github/`). Archive members are covered by their archive.

model-signing exposes verification only together with its own hashing; r1policy calls its verifier
classes (`model_signing._signing`) directly to get the signed manifest, which is why the dependency is
pinned to a minor version range.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1policy.artifacts.model import FileFacts
from r1policy.artifacts.scanner import FileResult, ReadFailure, SourceFile
from r1policy.artifacts.targets import Target
from r1policy.core import jsonsafe
from r1policy.core.errors import InputError, Position, UsageError
from r1policy.project.config import ModelSigningConfig

SIGNATURE_NAME = "model.sig"
MAX_SIGNATURE_BYTES = 16 * 1024 * 1024
_EXEMPT = (".gitattributes", ".gitignore")
_EXEMPT_DIRS = (".git/", ".github/")


class SignatureError(Exception):
    """The signature could not be evaluated (unreadable, unsupported): an `error`."""


class SignatureRefused(Exception):
    """The signature was evaluated and is not acceptable (untrusted signer, bad signature): a `fail`."""


@dataclass
class Signed:
    signer: str
    digests: dict[str, str] = field(default_factory=dict)  # rel path -> sha256 hex


def _missing_extra(exc: ImportError) -> UsageError:
    return UsageError(f"model_signing needs the `trust` extra (pip install 'r1policy[trust]'): {exc.name}")


def preload() -> threading.Thread:
    """Import model-signing (and sigstore, tuf: about 2 s of CPU) on a thread while the scan hashes;
    hashlib releases the GIL, so the import overlaps with reading. Import errors surface later, where
    the verifiers are used."""

    def load() -> None:
        with contextlib.suppress(ImportError):
            import model_signing._signing.sign_certificate
            import model_signing._signing.sign_ec_key  # noqa: F401

    thread = threading.Thread(target=load, name="r1-model-signing-import", daemon=True)
    thread.start()
    return thread


def check_trust_material(settings: ModelSigningConfig) -> None:
    """Trusted keys and certificates are configuration: unreadable ones are exit 2, before any scan."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
    except ImportError as exc:
        raise _missing_extra(exc) from exc
    for path in settings.trusted_keys:
        try:
            key = load_pem_public_key(_read_file(path))
        except ValueError as exc:
            raise InputError(Position(str(path)), f"not a readable PEM public key: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise InputError(
                Position(str(path)), "model signing keys are elliptic-curve keys (P-256/384/521)"
            )
    for path in settings.trusted_certificates:
        try:
            if not x509.load_pem_x509_certificates(_read_file(path)):
                raise ValueError("no certificate")
        except ValueError as exc:
            raise InputError(Position(str(path)), f"not a readable PEM certificate file: {exc}") from exc
    if settings.sigstore_trust_root is not None:
        _read_file(settings.sigstore_trust_root)
    if not (settings.trusted_keys or settings.trusted_certificates or settings.sigstore_identities):
        raise UsageError(
            "model_signing.required is true but no trusted_keys, trusted_certificates or "
            "sigstore_identities are configured"
        )


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(Position(str(path)), f"cannot read: {exc.strerror or exc}") from exc


def exempt(rel: str, signature_rel: str) -> bool:
    return rel == signature_rel or rel in _EXEMPT or rel.startswith(_EXEMPT_DIRS)


def verify_bundle(data: bytes, settings: ModelSigningConfig) -> Signed:
    """Verify a model.sig's signature against the trusted material; returns the signer and digests."""
    try:
        parsed = jsonsafe.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignatureError(f"not JSON: {exc}") from exc
    material = parsed.get("verificationMaterial") if isinstance(parsed, dict) else None
    if not isinstance(material, dict) or not isinstance(parsed.get("dsseEnvelope"), dict):
        raise SignatureError("not a model-signing bundle (no verificationMaterial / dsseEnvelope)")
    with tempfile.TemporaryDirectory(prefix="r1sig-") as tmp:
        path = Path(tmp) / SIGNATURE_NAME
        path.write_bytes(data)
        if "publicKey" in material:
            signer, manifest = _with_keys(path, settings)
        elif "x509CertificateChain" in material:
            signer, manifest = _with_certificates(path, settings)
        elif "certificate" in material or material.get("tlogEntries"):
            signer, manifest = _with_sigstore(path, settings)
        else:
            raise SignatureError("the bundle names no public key, certificate chain or Sigstore certificate")
    return Signed(signer, _digests(manifest))


def _read_pb(path: Path) -> Any:
    from model_signing._signing import sign_sigstore_pb

    try:
        return sign_sigstore_pb.Signature.read(path)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SignatureError(f"unreadable bundle: {exc}") from exc


def _attempt(verify: Callable[[], Any]) -> Any:
    """Run one model-signing verification; library exceptions become SignatureRefused/Error."""
    from cryptography.exceptions import InvalidSignature

    try:
        return verify()
    except InvalidSignature as exc:
        raise SignatureRefused("the signature does not verify with this key") from exc
    except (KeyError, TypeError, IndexError) as exc:
        raise SignatureError(f"unreadable bundle: {exc!r}") from exc
    except ValueError as exc:
        raise SignatureRefused(str(exc)) from exc


def _with_keys(path: Path, settings: ModelSigningConfig) -> tuple[str, Any]:
    from model_signing._signing import sign_ec_key

    if not settings.trusted_keys:
        raise SignatureRefused("signed with a key, and model_signing.trusted_keys is empty")
    signature = _read_pb(path)
    reasons = []
    for key in settings.trusted_keys:
        verifier = sign_ec_key.Verifier(key)
        try:
            manifest = _attempt(lambda v=verifier: v.verify(signature))  # type: ignore[misc]
        except SignatureRefused as exc:
            reasons.append(f"{key.name}: {exc}")
            continue
        fingerprint = hashlib.sha256(key.read_bytes()).hexdigest()[:16]
        return f"key:{key.name} (sha256 {fingerprint})", manifest
    raise SignatureRefused("not signed by a trusted key (" + "; ".join(reasons) + ")")


def _with_certificates(path: Path, settings: ModelSigningConfig) -> tuple[str, Any]:
    from cryptography import x509
    from model_signing._signing import sign_certificate
    from OpenSSL.crypto import X509StoreContextError

    if not settings.trusted_certificates:
        raise SignatureRefused("signed with a certificate, and model_signing.trusted_certificates is empty")
    signature = _read_pb(path)
    verifier = sign_certificate.Verifier(list(settings.trusted_certificates))
    try:
        manifest = _attempt(lambda: verifier.verify(signature))
    except X509StoreContextError as exc:
        raise SignatureRefused(
            f"the signing certificate does not chain to a trusted certificate: {exc}"
        ) from exc
    chain = signature.bundle.verification_material.x509_certificate_chain.certificates
    leaf = x509.load_der_x509_certificate(chain[0].raw_bytes)
    now = _dt.datetime.now(_dt.UTC)
    if leaf.not_valid_after_utc < now:
        raise SignatureRefused(f"the signing certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
    return f"certificate:{leaf.subject.rfc4514_string()} (issuer {leaf.issuer.rfc4514_string()})", manifest


def _with_sigstore(path: Path, settings: ModelSigningConfig) -> tuple[str, Any]:
    if not settings.sigstore_identities:
        raise SignatureRefused("a Sigstore bundle, and model_signing.sigstore_identities is empty")
    if settings.sigstore_trust_root is None:
        raise SignatureError(
            "a Sigstore bundle: verification needs the Sigstore trust root; r1policy does not fetch it "
            "over the network: set model_signing.sigstore_trust_root to a trusted_root.json"
        )
    from model_signing._signing import sign_sigstore

    try:
        signature = sign_sigstore.Signature.read(path)
    except ValueError as exc:
        raise SignatureError(f"unreadable Sigstore bundle: {exc}") from exc
    reasons = []
    for identity, issuer in settings.sigstore_identities:
        try:
            verifier = sign_sigstore.Verifier(
                identity=identity, oidc_issuer=issuer, trust_config=settings.sigstore_trust_root
            )
            manifest = _attempt(lambda v=verifier: v.verify(signature))  # type: ignore[misc]
        except SignatureRefused as exc:
            reasons.append(f"{identity}: {exc}")
            continue
        return f"sigstore:{identity} ({issuer})", manifest
    raise SignatureRefused("not signed by a trusted Sigstore identity (" + "; ".join(reasons) + ")")


def _digests(manifest: Any) -> dict[str, str]:
    params = manifest.serialization_type
    if params.get("method") != "files" or params.get("hash_type") != "sha256":
        raise SignatureError(
            f"the signature uses {params.get('method')}/{params.get('hash_type')} serialization; r1policy "
            "verifies model-signing's default per-file SHA-256 signatures"
        )
    return {rd.identifier: rd.digest.digest_hex for rd in manifest.resource_descriptors()}


def read_signature(src: SourceFile) -> bytes:
    try:
        with src.open() as raw:
            data = raw.read(MAX_SIGNATURE_BYTES + 1)
    except (OSError, ReadFailure) as exc:
        raise SignatureError(f"cannot read {src.path}: {exc}") from exc
    if len(data) > MAX_SIGNATURE_BYTES:
        raise SignatureError(f"{src.path} is larger than 16 MiB; not a model signature")
    return data


def apply(
    target: Target,
    results: list[FileResult],
    settings: ModelSigningConfig,
    signature_file: Path | None,
) -> tuple[list[FileFacts], str | None]:
    """Judge every file of a target against its signature: (extra facts, the signer when verified)."""
    sig_src = next((r.source for r in results if r.source.rel == SIGNATURE_NAME), None)
    sig_rel = SIGNATURE_NAME  # never itself covered by the signature, as model-signing's CLI does
    extra: list[FileFacts] = []
    holder = (
        next((r.top for r in results if r.source.rel == sig_rel), None) if signature_file is None else None
    )
    base = target.text.rstrip("/")
    if holder is None:
        shown = str(signature_file) if signature_file else f"{base}/{SIGNATURE_NAME}"
        holder = FileFacts(shown, format="signature" if signature_file else "missing")
        extra.append(holder)
    for result in results:
        for facts in result.facts[1:]:
            facts.signature_skipped = "archive members are covered by their archive's signed digest"
    try:
        if signature_file is not None:
            data = _read_local(signature_file)
        elif sig_src is not None:
            data = read_signature(sig_src)
        else:
            raise SignatureRefused(f"no {SIGNATURE_NAME} at the model root (and no --signature)")
        signed = verify_bundle(data, settings)
    except (SignatureError, SignatureRefused) as exc:
        failed = isinstance(exc, SignatureRefused)
        if failed:
            holder.signature_problems.append(str(exc))
            holder.signature_checked = True
        else:
            holder.signature_error = f"{holder.path}: {exc}"
        for result in results:
            if result.top is not holder:
                result.top.signature_skipped = f"the model signature failed (see {holder.path})"
        return extra, None
    holder.signature_checked = True
    _compare(results, signed, sig_rel, base, extra)
    return extra, signed.signer


def _compare(
    results: list[FileResult], signed: Signed, sig_rel: str, base: str, extra: list[FileFacts]
) -> None:
    present = set()
    for result in results:
        rel, top = result.source.rel, result.top
        if exempt(rel, sig_rel):
            if rel != sig_rel:
                top.signature_skipped = "git metadata; model-signing does not cover it"
            elif not top.signature_checked:
                top.signature_skipped = "a signature file; the one given with --signature was verified"
            continue
        present.add(rel)
        top.signature_checked = True
        expected = signed.digests.get(rel)
        if expected is None:
            top.signature_problems.append(f"not covered by the signature (signed by {signed.signer})")
        elif top.sha256 is None:
            top.signature_error = f"{top.path} could not be hashed"
        elif top.sha256 != expected:
            top.signature_problems.append(
                f"changed: the signature says sha256 {expected}, the file has {top.sha256}"
            )
    for rel in sorted(set(signed.digests) - present):
        if exempt(rel, sig_rel):
            continue
        facts = FileFacts(f"{base}/{rel}", format="missing", signature_checked=True)
        facts.signature_problems.append(f"signed (sha256 {signed.digests[rel]}) but missing from the model")
        extra.append(facts)


def _read_local(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SIGNATURE_BYTES + 1)
    except OSError as exc:
        raise SignatureError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_SIGNATURE_BYTES:
        raise SignatureError(f"{path} is larger than 16 MiB; not a model signature")
    return data
