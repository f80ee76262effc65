"""Live capacity facts: ``config.json`` and ``model.safetensors.index.json`` of every uncompressed S3
model prefix (two small GetObject calls per prefix, with the credentials and in the region of the
bucket's reader), recorded as state-v1 ``model_files`` (see ``r1policy.facts.modelfiles``).

A missing object (NoSuchKey) is ``None``; any other failure (AccessDenied, a missing bucket,
throttling past retries), an object over its size limit, text that is not UTF-8 JSON or a file without
the fields sizing needs is an error naming the object. Model archives (``ModelDataUrl``, Gzip
``S3DataSource``) are not opened: their files are inside the archive.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from typing import Any

import botocore.exceptions

from r1policy.aws.errors import CALL_ERRORS, classify, error_code
from r1policy.aws.pools import Pools
from r1policy.aws.session import AccountSession
from r1policy.core import jsonsafe
from r1policy.facts.modelfiles import CONFIG, INDEX, config_facts, index_facts, prefix_key

LIMITS = {CONFIG: 1 << 20, INDEX: 64 << 20}  # bytes read at most (DeepSeek-R1's index is ~9 MB)
_PARSE: Mapping[str, Callable[[Any], dict[str, Any]]] = {CONFIG: config_facts, INDEX: index_facts}
_FIELD = {CONFIG: "config", INDEX: "index"}


def model_prefixes(models: Iterable[Mapping[str, Any]]) -> set[str]:
    """The uncompressed S3 prefixes (``S3DataSource`` with ``CompressionType`` None) the models load."""
    found: set[str] = set()
    for model in models:
        containers = list(model.get("Containers") or [])
        if model.get("PrimaryContainer"):
            containers.append(model["PrimaryContainer"])
        for container in containers:
            source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
            uri = source.get("S3Uri")
            prefix = source.get("S3DataType", "S3Prefix") == "S3Prefix"
            if (
                isinstance(uri, str)
                and uri.startswith("s3://")
                and prefix
                and source.get("CompressionType") != "Gzip"
            ):
                found.add(prefix_key(uri))
    return found


def read_model_file(account: AccountSession, region: str, prefix: str, name: str) -> tuple[Any, str | None]:
    """(facts of the file, or None when it does not exist; the error naming it, if any)."""
    bucket, _, key = prefix.removeprefix("s3://").partition("/")
    limit = LIMITS[name]
    try:
        got = account.client("s3", region).get_object(Bucket=bucket, Key=key + name, Range=f"bytes=0-{limit}")
        body = got["Body"].read(limit + 1)
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "InvalidRange"):  # InvalidRange: an empty object
            return (None, None) if error_code(exc) == "NoSuchKey" else (None, "it is empty")
        return None, classify(exc)
    except CALL_ERRORS as exc:
        return None, classify(exc)
    if len(body) > limit:
        return None, f"it is larger than {limit >> 20} MiB (read no further)"
    try:
        return _PARSE[name](jsonsafe.loads(body.decode("utf-8"))), None
    except UnicodeDecodeError:
        return None, "it is not UTF-8 text"
    except json.JSONDecodeError as exc:
        return None, f"it is not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})"
    except ValueError as exc:
        return None, f"it {exc}"


class ModelFileReads:
    """The model-file reads of one run, started bucket by bucket as each bucket's record is known
    (``start``, in the bucket's region; a prefix whose bucket never comes reads in its reader's
    default region) and gathered by ``result``."""

    def __init__(
        self, prefixes: Iterable[str], reader_of: Callable[[str], AccountSession], pools: Pools
    ) -> None:
        self.reader_of = reader_of
        self.pools = pools
        self.by_bucket: dict[str, list[str]] = {}
        for prefix in sorted(set(prefixes)):
            self.by_bucket.setdefault(prefix.removeprefix("s3://").split("/", 1)[0], []).append(prefix)
        self.jobs: dict[tuple[str, str], Future[tuple[Any, str | None]]] = {}

    def start(self, bucket: str, record: Mapping[str, Any] | None) -> None:
        account = self.reader_of(bucket)
        region = str((record or {}).get("region") or account.default_region)
        for prefix in self.by_bucket.pop(bucket, []):
            for name in (CONFIG, INDEX):
                self.jobs[(prefix, name)] = self.pools.submit(
                    account.account_id, region, read_model_file, account, region, prefix, name
                )

    def result(self) -> dict[str, dict[str, Any]]:
        for bucket in list(self.by_bucket):
            self.start(bucket, None)
        result: dict[str, dict[str, Any]] = {}
        for (prefix, name), future in sorted(self.jobs.items()):
            facts, error = future.result()
            entry = result.setdefault(prefix, {"config": None, "index": None})
            entry[_FIELD[name]] = facts
            if error is not None:
                entry.setdefault("errors", {})[name] = error
        return result
