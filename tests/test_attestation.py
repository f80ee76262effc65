"""`check --attest` writes an in-toto v1 Statement in a DSSE envelope signed with securesystemslib;
`verify-attestation` accepts exactly that and refuses any change to payload, signature or subjects, an
untrusted key, and unreadable files (exit 2, no traceback)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import check_case, run_cli, write_case

pytest.importorskip("securesystemslib", reason="the `trust` extra is not installed")

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

MODEL_FILES = {"config.json": "a" * 64, "model-00001-of-00002.safetensors": "b" * 64}


def write_keypair(folder: Path, name: str, kind: str = "ec") -> tuple[Path, Path]:
    private: Any
    if kind == "rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif kind == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    key = folder / f"{name}.key"
    pub = folder / f"{name}.pub"
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    pub.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key, pub


def write_lock(folder: Path) -> Path:
    lock = {
        "kind": "r1policy-lock",
        "schema_version": 1,
        "sources": {
            "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/": {
                "revision": None,
                "repo_id": None,
                "files": {
                    rel: {"sha256": sha, "size": 10, "version_id": None} for rel, sha in MODEL_FILES.items()
                },
            }
        },
    }
    path = folder / "r1policy.lock"
    path.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    return path


def attested_case(tmp_path: Path, kind: str = "ec") -> tuple[dict[str, Path], Path]:
    write_keypair(tmp_path, "gate", kind)
    paths = write_case(
        tmp_path, config={"attestation": {"signing_key": "gate.key", "trusted_keys": ["gate.pub"]}}
    )
    write_lock(tmp_path)
    out = tmp_path / "decision.intoto.json"
    return paths, out


@pytest.mark.parametrize("kind", ["ec", "rsa", "ed25519"])
def test_attestation_of_an_allowed_deployment_verifies(tmp_path: Path, kind: str) -> None:
    paths, out = attested_case(tmp_path, kind)
    result = check_case(paths, "--attest", out)
    assert result.code == 0, result.stderr
    envelope = json.loads(out.read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://r1policy.dev/attestation/gate-decision/v1"
    names = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    base = "s3://acme-llm-weights/deepseek-r1-distill-llama-8b"
    assert {n: d for n, d in names.items() if n.startswith("s3://")} == {
        f"{base}/{rel}": sha for rel, sha in MODEL_FILES.items()
    }
    assert str(paths["manifest"]) in names
    predicate = statement["predicate"]
    assert predicate["decision"] == "allow" and predicate["tool"]["name"] == "r1policy"
    assert len(predicate["rule_pack"]["digest"]["sha256"]) == 64
    verified = run_cli("verify-attestation", out, "--subject", paths["manifest"], "--config", paths["config"])
    assert verified.code == 0, verified.stderr
    assert "decision allow" in verified.stdout


def _tamper(out: Path, change: Any) -> None:
    envelope = json.loads(out.read_text())
    change(envelope)
    out.write_text(json.dumps(envelope))


def _payload_edit(envelope: dict[str, Any]) -> None:
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["decision"] = "block" if statement["predicate"]["decision"] == "allow" else "allow"
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()


def _subject_edit(envelope: dict[str, Any]) -> None:
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()


def _signature_flip(envelope: dict[str, Any]) -> None:
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[len(sig) // 2] ^= 0x01
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()


def _payload_type(envelope: dict[str, Any]) -> None:
    envelope["payloadType"] = "application/json"


def _no_signatures(envelope: dict[str, Any]) -> None:
    envelope["signatures"] = []


@pytest.mark.parametrize(
    "change", [_payload_edit, _subject_edit, _signature_flip, _payload_type, _no_signatures]
)
def test_any_change_to_the_envelope_is_invalid(tmp_path: Path, change: Any) -> None:
    paths, out = attested_case(tmp_path)
    assert check_case(paths, "--attest", out).code == 0
    _tamper(out, change)
    verified = run_cli("verify-attestation", out, "--config", paths["config"])
    assert verified.code == 1, (verified.stdout, verified.stderr)
    assert "invalid" in verified.stderr and "Traceback" not in verified.stderr


def test_untrusted_key_and_unmatched_subject_are_invalid(tmp_path: Path) -> None:
    paths, out = attested_case(tmp_path)
    assert check_case(paths, "--attest", out).code == 0
    _, other = write_keypair(tmp_path, "other")
    untrusted = run_cli("verify-attestation", out, "--trusted-key", other, "--config", paths["config"])
    assert untrusted.code == 1 and "no signature by a trusted key" in untrusted.stderr
    stranger = tmp_path / "other.yaml"
    stranger.write_text("not the judged manifest\n")
    unmatched = run_cli("verify-attestation", out, "--subject", stranger, "--config", paths["config"])
    assert unmatched.code == 1 and f"{stranger} (sha256 " in unmatched.stderr


def test_blocked_deployment_is_attested_as_block(tmp_path: Path) -> None:
    write_keypair(tmp_path, "gate")
    paths = write_case(
        tmp_path,
        manifest={"spec": {"endpoint": {"instance_type": "ml.t2.medium"}}},
        config={"attestation": {"signing_key": "gate.key", "trusted_keys": ["gate.pub"]}},
    )
    write_lock(tmp_path)
    out = tmp_path / "decision.json"
    assert check_case(paths, "--attest", out).code == 1
    verified = run_cli("verify-attestation", out, "--config", paths["config"])
    assert verified.code == 0 and "decision block" in verified.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not json", "not JSON"),
        (b"{}", "not a DSSE envelope"),
        (b'{"payload": "!!", "payloadType": "x", "signatures": [{"keyid": "k", "sig": "%%"}]}', "not a DSSE"),
        (b'{"payload": "e30=", "payloadType": "x", "signatures": "nope"}', "not a DSSE envelope"),
        (b"\xff\xfe garbage", "not JSON"),
    ],
)
def test_unreadable_attestation_exits_2(tmp_path: Path, content: bytes, message: str) -> None:
    _, pub = write_keypair(tmp_path, "gate")
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    result = run_cli("verify-attestation", bad, "--trusted-key", pub)
    assert result.code == 2, (result.stdout, result.stderr)
    assert str(bad) in result.stderr and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("which", "content"),
    [
        (
            "signing",
            b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEH\n-----END PRIVATE KEY-----\n",
        ),
        ("signing", b"not a key at all"),
        (
            "trusted",
            b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n",
        ),
    ],
)
def test_truncated_or_garbage_keys_exit_2(tmp_path: Path, which: str, content: bytes) -> None:
    paths, out = attested_case(tmp_path)
    target = tmp_path / ("gate.key" if which == "signing" else "gate.pub")
    if which == "trusted":
        assert check_case(paths, "--attest", out).code == 0
    target.write_bytes(content)
    if which == "signing":
        result = check_case(paths, "--attest", out)
        assert not out.exists()
    else:
        result = run_cli("verify-attestation", out, "--config", paths["config"])
    assert result.code == 2, (result.stdout, result.stderr)
    assert str(target) in result.stderr and "Traceback" not in result.stderr


def test_attest_without_signing_key_is_a_usage_error(tmp_path: Path) -> None:
    paths = write_case(tmp_path)
    result = check_case(paths, "--attest", tmp_path / "x.json")
    assert result.code == 2 and "attestation.signing_key" in result.stderr
    assert not (tmp_path / "x.json").exists()
    config = yaml.safe_load(paths["config"].read_text())
    assert "attestation" not in config


@pytest.mark.parametrize("spec", ["ECC_NIST_P256", "RSA_2048"])
def test_attestation_signed_with_an_aws_kms_key(tmp_path: Path, moto_env: Any, spec: str) -> None:
    """kms:GetPublicKey + kms:Sign (MessageType DIGEST, as securesystemslib's AWSSigner sends it) against
    the moto server. moto does not implement DIGEST: it signs the 32 digest bytes as a raw message,
    hashing them again, so the envelope cannot verify there (on AWS it does). The test proves instead
    that exactly SHA-256(PAE(envelope)) went to kms:Sign, under the KMS key's own key id."""
    import hashlib

    import boto3
    from cryptography.hazmat.primitives.asymmetric import padding
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    kms = boto3.client("kms")
    key_arn = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec=spec)["KeyMetadata"]["Arn"]
    public: Any = serialization.load_der_public_key(kms.get_public_key(KeyId=key_arn)["PublicKey"])
    paths = write_case(tmp_path, config={"attestation": {"kms": key_arn}})
    write_lock(tmp_path)
    out = tmp_path / "decision.json"
    result = check_case(paths, "--attest", out)
    assert result.code == 0, result.stderr
    envelope = Envelope.from_dict(json.loads(out.read_text()))
    ((keyid, signature),) = envelope.signatures.items()
    assert keyid == SSlibKey.from_crypto(public).keyid
    digest = hashlib.sha256(envelope.pae()).digest()
    sig = bytes.fromhex(signature.signature)
    if spec.startswith("ECC"):
        public.verify(sig, digest, ec.ECDSA(hashes.SHA256()))
    else:
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
        public.verify(sig, digest, pss, hashes.SHA256())


def test_unknown_kms_key_exits_2(tmp_path: Path, moto_env: Any) -> None:
    missing = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    paths = write_case(tmp_path, config={"attestation": {"kms": missing}})
    out = tmp_path / "decision.json"
    result = check_case(paths, "--attest", out)
    assert result.code == 2 and missing in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
