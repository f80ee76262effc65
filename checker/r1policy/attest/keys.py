"""Signers and trusted keys for attestations, through securesystemslib: a PEM private key file
(CryptoSigner) or an asymmetric AWS KMS key (AWSSigner, kms:GetPublicKey + kms:Sign); trusted keys
are PEM public keys. Every library error becomes an InputError naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from r1policy.core.errors import InputError, Position, UsageError

MAX_KEY_BYTES = 1024 * 1024


def _missing_extra(exc: ImportError) -> UsageError:
    return UsageError(
        f"attestations need the `trust` extra (pip install 'r1policy[trust]'): {exc.name} is not installed"
    )


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise InputError(Position(str(path)), f"cannot read the key: {exc.strerror or exc}") from exc
    if len(data) > MAX_KEY_BYTES:
        raise InputError(Position(str(path)), "not a key: larger than 1 MiB")
    return data


def load_signer(key_file: Path | None, kms_key: str | None) -> Any:
    """The securesystemslib Signer for `attestation.signing_key` or `attestation.kms`."""
    try:
        from securesystemslib.signer import AWSSigner, CryptoSigner  # type: ignore[attr-defined]
    except ImportError as exc:
        raise _missing_extra(exc) from exc
    if kms_key:
        return _kms_signer(AWSSigner, kms_key)
    if key_file is None:
        raise UsageError("--attest needs attestation.signing_key or attestation.kms in the configuration")
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    data = _read(key_file)
    try:
        private = load_pem_private_key(data, password=None)
    except TypeError as exc:  # encrypted without a password
        raise InputError(Position(str(key_file)), f"the private key is encrypted: {exc}") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InputError(Position(str(key_file)), f"not a readable PEM private key: {exc}") from exc
    try:
        return CryptoSigner(private)
    except ValueError as exc:
        raise InputError(Position(str(key_file)), f"unsupported signing key: {exc}") from exc


def _kms_signer(signer_class: Any, key_id: str) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError
    from securesystemslib.exceptions import UnsupportedAlgorithmError

    try:
        uri, public = signer_class.import_(key_id)
    except (ClientError, BotoCoreError) as exc:
        raise UsageError(
            f"attestation.kms {key_id}: cannot read the public key (kms:GetPublicKey): {exc}"
        ) from exc
    except (UnsupportedAlgorithmError, ValueError) as exc:
        raise UsageError(f"attestation.kms {key_id}: not an asymmetric signing key: {exc}") from exc
    return _KmsSigner(signer_class.from_priv_key_uri(uri, public), key_id)


class _KmsSigner:
    """AWSSigner whose KMS errors become a UsageError naming the key."""

    def __init__(self, signer: Any, key_id: str) -> None:
        self._signer = signer
        self._key_id = key_id
        self.public_key = signer.public_key

    def sign(self, payload: bytes) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._signer.sign(payload)
        except (ClientError, BotoCoreError) as exc:
            raise UsageError(f"attestation.kms {self._key_id}: kms:Sign failed: {exc}") from exc


def load_public_key(path: Path) -> Any:
    """An SSlibKey from a PEM public key (or the public key of a PEM certificate)."""
    try:
        from cryptography import x509
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
        from securesystemslib.signer import SSlibKey  # type: ignore[attr-defined]
    except ImportError as exc:
        raise _missing_extra(exc) from exc
    data = _read(path)
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            public: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            public = load_pem_public_key(data)
        return SSlibKey.from_crypto(public)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InputError(Position(str(path)), f"not a readable PEM public key: {exc}") from exc
