"""R1-ART-011 with the real `model-signing` package: models signed in the test with an EC key and with a
certificate made in the test pass; each kind of tampering, an untrusted signer, a certificate that does
not chain or has expired, and unreadable bundles fail or err naming the file; `scan --write-lock`
records the signer."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import finding_set, run_cli

pytest.importorskip("model_signing", reason="the `trust` extra is not installed")

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from model_signing import hashing, signing

RULE = "R1-ART-011"


def _pem_private(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_public(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def ec_keypair(folder: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    (folder / f"{name}.key").write_bytes(_pem_private(key))
    (folder / f"{name}.pub").write_bytes(_pem_public(key))
    return folder / f"{name}.key", folder / f"{name}.pub"


def _certificate(
    subject: str, key: Any, issuer: tuple[str, Any] | None, *, ca: bool, days: tuple[int, int] = (-1, 365)
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days[0]))
        .not_valid_after(now + dt.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


def make_ca(folder: Path, name: str) -> tuple[Path, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(f"{name} CA", key, None, ca=True, days=(-30, 3650))
    path = folder / f"{name}-ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, (f"{name} CA", key)


def make_leaf(folder: Path, issuer: tuple[str, Any], days: tuple[int, int] = (-1, 365)) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate("ml-release@acme.example", key, issuer, ca=False, days=days)
    (folder / "leaf.key").write_bytes(_pem_private(key))
    (folder / "leaf.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return folder / "leaf.key", folder / "leaf.pem"


def write_model(root: Path) -> Path:
    model = root / "model"
    (model / "sub").mkdir(parents=True)
    (model / "config.json").write_text('{"model_type": "llama"}')
    (model / "tokenizer.json").write_text('{"version": "1.0"}')
    (model / "sub" / "notes.txt").write_text("release notes\n")
    (model / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    return model


def _hashing() -> hashing.Config:
    return hashing.Config().set_ignored_paths(paths=["model.sig"])


def sign_with_key(model: Path, private: Path, out: Path | None = None) -> None:
    config = signing.Config().use_elliptic_key_signer(private_key=private).set_hashing_config(_hashing())
    config.sign(model, out or model / "model.sig")


def sign_with_certificate(model: Path, private: Path, leaf: Path, chain: list[Path]) -> None:
    config = signing.Config().use_certificate_signer(
        private_key=private, signing_certificate=leaf, certificate_chain=chain
    )
    config.set_hashing_config(_hashing()).sign(model, model / "model.sig")


def configure(root: Path, **signing_config: Any) -> None:
    (root / "r1policy.yaml").write_text(
        yaml.safe_dump({"model_signing": {"required": True, **signing_config}})
    )


def scan(root: Path, *extra: str) -> Any:
    return run_cli("scan", "model", "--format", "json", "--show-passed", *extra, cwd=root)


def rule_findings(result: Any, *statuses: str) -> set[tuple[str, str, str]]:
    return {f for f in finding_set(result.json, *statuses) if f[0] == RULE}


@pytest.fixture
def signed(tmp_path: Path) -> Path:
    model = write_model(tmp_path)
    private, _ = ec_keypair(tmp_path, "release")
    sign_with_key(model, private)
    configure(tmp_path, trusted_keys=["release.pub"])
    return tmp_path


def test_signed_model_passes_every_file(signed: Path) -> None:
    result = scan(signed)
    assert result.code == 0, result.stderr
    assert rule_findings(result, "pass", "fail", "error") == {
        (RULE, "pass", "model/config.json"),
        (RULE, "pass", "model/tokenizer.json"),
        (RULE, "pass", "model/sub/notes.txt"),
        (RULE, "pass", "model/model.sig"),
    }
    assert rule_findings(result, "skipped") == {(RULE, "skipped", "model/.gitattributes")}


def test_each_kind_of_tampering_fails_naming_the_file(signed: Path) -> None:
    model = signed / "model"
    (model / "config.json").write_text('{"model_type": "qwen2"}')  # changed
    (model / "sub" / "notes.txt").unlink()  # missing
    (model / "inference.py").write_text("import os\n")  # extra
    result = scan(signed)
    assert result.code == 1
    assert rule_findings(result, "fail", "error") == {
        (RULE, "fail", "model/config.json"),
        (RULE, "fail", "model/sub/notes.txt"),
        (RULE, "fail", "model/inference.py"),
    }
    messages = {f["subject"]["id"]: f["message"] for f in result.json["findings"] if f["rule_id"] == RULE}
    assert "changed: the signature says sha256" in messages["model/config.json"]
    assert "but missing from the model" in messages["model/sub/notes.txt"]
    assert "not covered by the signature" in messages["model/inference.py"]


def test_untrusted_key_and_missing_signature_fail(signed: Path) -> None:
    ec_keypair(signed, "other")
    configure(signed, trusted_keys=["other.pub"])
    untrusted = scan(signed)
    assert untrusted.code == 1
    assert rule_findings(untrusted, "fail", "error") == {(RULE, "fail", "model/model.sig")}
    assert "not signed by a trusted key" in str(untrusted.json)
    (signed / "model" / "model.sig").unlink()
    configure(signed, trusted_keys=["release.pub"])
    unsigned = scan(signed)
    assert rule_findings(unsigned, "fail", "error") == {(RULE, "fail", "model/model.sig")}
    assert "no model.sig at the model root" in str(unsigned.json)


def test_signature_outside_the_model_with_signature_option(tmp_path: Path) -> None:
    model = write_model(tmp_path)
    private, _ = ec_keypair(tmp_path, "release")
    sign_with_key(model, private, tmp_path / "release.sig")
    configure(tmp_path, trusted_keys=["release.pub"])
    (model / "model.sig").write_text("a stale signature, not the one verified")
    result = scan(tmp_path, "--signature", str(tmp_path / "release.sig"))
    assert result.code == 0, result.stderr
    assert (RULE, "pass", str(tmp_path / "release.sig")) in rule_findings(result, "pass")
    skipped = {f["subject"]["id"]: f["message"] for f in result.json["findings"] if f["rule_id"] == RULE}
    assert "the one given with --signature was verified" in skipped["model/model.sig"]


def test_write_lock_records_the_signer(signed: Path) -> None:
    result = scan(signed, "--write-lock")
    assert result.code == 0, result.stderr
    lock = json.loads((signed / "r1policy.lock").read_text())
    (source,) = lock["sources"].values()
    assert source["signer"].startswith("key:release.pub (sha256 ")


def test_certificate_signature_chains_to_the_trusted_ca(tmp_path: Path) -> None:
    model = write_model(tmp_path)
    ca, issuer = make_ca(tmp_path, "acme")
    key, leaf = make_leaf(tmp_path, issuer)
    sign_with_certificate(model, key, leaf, [ca])
    configure(tmp_path, trusted_certificates=["acme-ca.pem"])
    result = scan(tmp_path)
    assert result.code == 0, result.stderr
    assert (RULE, "pass", "model/model.sig") in rule_findings(result, "pass")
    other_ca, _ = make_ca(tmp_path, "evil")
    configure(tmp_path, trusted_certificates=[other_ca.name])
    refused = scan(tmp_path)
    assert rule_findings(refused, "fail", "error") == {(RULE, "fail", "model/model.sig")}
    assert "does not chain to a trusted certificate" in str(refused.json)


def test_expired_certificate_fails(tmp_path: Path) -> None:
    model = write_model(tmp_path)
    ca, issuer = make_ca(tmp_path, "acme")
    key, leaf = make_leaf(tmp_path, issuer, days=(-20, -10))
    sign_with_certificate(model, key, leaf, [ca])
    configure(tmp_path, trusted_certificates=["acme-ca.pem"])
    result = scan(tmp_path)
    assert rule_findings(result, "fail", "error") == {(RULE, "fail", "model/model.sig")}
    assert "the signing certificate expired" in str(result.json)


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"not json at all", "error", "not JSON"),
        (b'{"mediaType": "x"}', "error", "not a model-signing bundle"),
        (b'{"verificationMaterial": {}, "dsseEnvelope": {}}', "error", "names no public key"),
        (b"\xff\xfe\x00", "error", "not JSON"),
    ],
)
def test_unreadable_signature_is_an_error(signed: Path, content: bytes, status: str, message: str) -> None:
    (signed / "model" / "model.sig").write_bytes(content)
    result = scan(signed)
    assert result.code == 1
    assert rule_findings(result, "fail", "error") == {(RULE, status, "model/model.sig")}
    assert message in str(result.json) and "Traceback" not in result.stderr


def test_mangled_bundle_fields_never_pass(signed: Path) -> None:
    sig = signed / "model" / "model.sig"
    bundle = json.loads(sig.read_text())
    variants = []
    for mangle in ("payload", "sig", "payloadType", "hint"):
        copy = json.loads(json.dumps(bundle))
        env = copy["dsseEnvelope"]
        if mangle == "payload":
            env["payload"] = env["payload"][:-8] + "AAAAAAA="
        elif mangle == "sig":
            env["signatures"][0]["sig"] = "AAAA" + env["signatures"][0]["sig"][4:]
        elif mangle == "payloadType":
            env["payloadType"] = "application/json"
        else:
            copy["verificationMaterial"]["publicKey"]["hint"] = "0" * 64
        variants.append(copy)
    for variant in variants:
        sig.write_text(json.dumps(variant))
        result = scan(signed)
        assert result.code == 1, variant
        statuses = rule_findings(result, "pass", "fail", "error")
        assert (RULE, "pass", "model/model.sig") not in statuses
        assert {s for s in statuses if s[2] == "model/model.sig"} <= {
            (RULE, "fail", "model/model.sig"),
            (RULE, "error", "model/model.sig"),
        }
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "content",
    [b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n-----END PUBLIC KEY-----\n", b"garbage"],
)
def test_truncated_trusted_key_exits_2(signed: Path, content: bytes) -> None:
    (signed / "release.pub").write_bytes(content)
    result = scan(signed)
    assert result.code == 2 and "release.pub" in result.stderr and "Traceback" not in result.stderr


def test_sigstore_bundle_without_offline_trust_root_is_an_error(signed: Path) -> None:
    """A Sigstore (keyless) bundle needs the public-good trust root, which r1policy never fetches; with
    no sigstore_trust_root the rule errs and says so. Verifying a real Sigstore bundle needs a Fulcio
    certificate and Rekor entry, which cannot be made offline: that path is not exercised here."""
    sig = signed / "model" / "model.sig"
    bundle = json.loads(sig.read_text())
    bundle["verificationMaterial"] = {"certificate": {"rawBytes": "AAAA"}, "tlogEntries": []}
    sig.write_text(json.dumps(bundle))
    configure(signed, sigstore_identities=[{"identity": "a@b.c", "issuer": "https://accounts.google.com"}])
    result = scan(signed)
    assert rule_findings(result, "fail", "error") == {(RULE, "error", "model/model.sig")}
    assert "sigstore_trust_root" in str(result.json)


def test_not_required_is_skipped_and_bad_config_exits_2(signed: Path) -> None:
    (signed / "r1policy.yaml").write_text(yaml.safe_dump({"model_signing": {"required": False}}))
    result = scan(signed)
    assert result.code == 0
    assert {s for _, s, _ in rule_findings(result, "pass", "fail", "error", "skipped")} == {"skipped"}
    (signed / "r1policy.yaml").write_text(yaml.safe_dump({"model_signing": {"required": True}}))
    refused = scan(signed)
    assert refused.code == 2 and "trusted_keys" in refused.stderr
    (signed / "r1policy.yaml").write_text(yaml.safe_dump({"model_signing": {"requird": True}}))
    misspelt = scan(signed)
    assert misspelt.code == 2 and "requird" in misspelt.stderr


def _upload(model: Path, bucket: str, prefix: str) -> None:
    import boto3

    client = boto3.client("s3")
    client.create_bucket(Bucket=bucket)
    for path in sorted(p for p in model.rglob("*") if p.is_file()):
        client.put_object(
            Bucket=bucket, Key=f"{prefix}/{path.relative_to(model).as_posix()}", Body=path.read_bytes()
        )


def test_s3_model_is_verified_from_the_streamed_digests(moto_env: Any, tmp_path: Path) -> None:
    import boto3

    model = write_model(tmp_path)
    private, _ = ec_keypair(tmp_path, "release")
    sign_with_key(model, private)
    configure(tmp_path, trusted_keys=["release.pub"])
    _upload(model, "acme-llm-weights", "r1")
    target = "s3://acme-llm-weights/r1"
    ok = run_cli("scan", target, "--format", "json", "--show-passed", cwd=tmp_path)
    assert ok.code == 0, ok.stderr
    assert {f for f in finding_set(ok.json, "pass", "fail", "error") if f[0] == RULE} == {
        (RULE, "pass", f"{target}/{rel}")
        for rel in ("model.sig", "config.json", "tokenizer.json", "sub/notes.txt")
    }
    boto3.client("s3").put_object(Bucket="acme-llm-weights", Key="r1/config.json", Body=b'{"evil": 1}')
    tampered = run_cli("scan", target, "--format", "json", cwd=tmp_path)
    assert tampered.code == 1
    assert {f for f in finding_set(tampered.json, "fail", "error") if f[0] == RULE} == {
        (RULE, "fail", "s3://acme-llm-weights/r1/config.json")
    }


def test_hub_snapshot_is_verified_from_the_streamed_digests(tmp_path: Path, monkeypatch: Any) -> None:
    from tests.support.hubserver import Lfs, RepoFixture, hub_server

    model = write_model(tmp_path)
    (model / ".gitattributes").unlink()
    (model / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    private, _ = ec_keypair(tmp_path, "release")
    sign_with_key(model, private)
    configure(tmp_path, trusted_keys=["release.pub"])
    sha = "6a6f4aa4197940add57724a7707d069478df56b1"
    target = f"hf://deepseek-ai/DeepSeek-R1-Distill-Llama-8B@{sha}"

    def fixture(tampered: bool) -> RepoFixture:
        files: dict[str, bytes | Lfs] = {}
        for path in sorted(p for p in model.rglob("*") if p.is_file()):
            rel = path.relative_to(model).as_posix()
            data = path.read_bytes()
            if tampered and rel == "tokenizer.json":
                data = b'{"version": "evil"}'
            files[rel] = Lfs(content=data) if rel.endswith(".safetensors") else data
        return RepoFixture("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", files=files, sha=sha)

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with hub_server([fixture(False)]) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        ok = run_cli("scan", target, "--format", "json", "--show-passed", cwd=tmp_path)
    assert ok.code == 0, ok.stdout + ok.stderr
    assert {f for f in finding_set(ok.json, "fail", "error") if f[0] == RULE} == set()
    assert (RULE, "pass", f"{target}/model.safetensors") in finding_set(ok.json, "pass")
    monkeypatch.setenv("R1POLICY_CACHE_DIR", str(tmp_path / "fresh-cache"))
    with hub_server([fixture(True)]) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        tampered = run_cli("scan", target, "--format", "json", cwd=tmp_path)
    assert {f for f in finding_set(tampered.json, "fail", "error") if f[0] == RULE} == {
        (RULE, "fail", f"{target}/tokenizer.json")
    }
