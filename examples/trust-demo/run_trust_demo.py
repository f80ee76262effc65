"""`make demo`, trust part: sign a small model with OpenSSF model signing, let `r1policy scan` verify
it (R1-ART-011, exit 0), tamper with one file and see it blocked (exit 1). Everything happens in a
temporary folder with a key made on the spot; no network."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from model_signing import hashing, signing

R1 = [sys.executable, "-m", "r1policy"]


def run(step: str, args: list[str], cwd: Path, expect: int) -> None:
    print(f"== {step}  (expect exit {expect})", flush=True)
    code = subprocess.run([*R1, *args], cwd=cwd, check=False).returncode
    if code != expect:
        sys.exit(f"trust demo: expected exit {expect}, got {code}")
    print(flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="r1policy-trust-demo-") as tmp:
        root = Path(tmp)
        model = root / "model"
        model.mkdir()
        (model / "config.json").write_text('{"model_type": "llama", "torch_dtype": "bfloat16"}\n')
        (model / "tokenizer_config.json").write_text('{"model_max_length": 131072}\n')
        key = ec.generate_private_key(ec.SECP256R1())
        (root / "release.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        (root / "release.pub").write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        signing.Config().use_elliptic_key_signer(private_key=root / "release.key").set_hashing_config(
            hashing.Config().set_ignored_paths(paths=["model.sig"])
        ).sign(model, model / "model.sig")
        (root / "r1policy.yaml").write_text(
            "model_signing: {required: true, trusted_keys: [release.pub]}\nallow_pickle_weights: false\n"
        )
        run("r1policy scan model  (signed by a trusted key)", ["scan", "model"], root, 0)
        (model / "config.json").write_text('{"model_type": "llama", "auto_map": {}}\n')
        run("r1policy scan model  (config.json changed after signing)", ["scan", "model"], root, 1)
    print("trust demo: the signed model was verified and the tampered one blocked, as expected.")


if __name__ == "__main__":
    main()
