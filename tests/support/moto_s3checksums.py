"""S3 checksum gaps of moto 5.2.x, patched in the moto server's child process (docs/s3-hashing.md).

* HeadObject with ``ChecksumMode=ENABLED`` on a multipart object with a COMPOSITE checksum returns the
  bare checksum of the part checksums and no ``ChecksumType``; S3 returns ``<base64>-<parts>`` and
  ``x-amz-checksum-type: COMPOSITE`` (GetObject already does). Objects with a checksum get their
  ``ChecksumType`` (FULL_OBJECT for single-part uploads) as S3 sends it.
* GetObjectAttributes ignores ``ObjectParts``: S3 returns ``TotalPartsCount`` and, per part,
  ``PartNumber``, ``Size`` and the part's checksum (paginated by ``MaxParts`` / ``PartNumberMarker``).
* A test-only fault: a multipart upload created with the metadata ``r1policy-tamper-part: N`` has one
  byte of its part N flipped after completion, its stored checksums unchanged: what a checksum
  mismatch (corruption at rest, a lying uploader) looks like. moto recomputes checksums on upload,
  so a mismatch cannot be made through the API.
"""

from __future__ import annotations

from typing import Any

TAMPER = "x-amz-meta-r1policy-tamper-part"


def patch_s3_checksums() -> None:
    from moto.s3 import models, responses

    if getattr(responses.S3Response, "_r1policy_checksums", False):
        return
    responses.S3Response._r1policy_checksums = True  # type: ignore[attr-defined]
    _patch_head(responses.S3Response)
    _patch_attributes(responses.S3Response)
    _patch_tamper(models.S3Backend)


def _patch_head(cls: Any) -> None:
    original = cls.head_object

    def head_object(self: Any, bucket_name: str, query: dict[str, Any], key_name: str, headers: Any) -> Any:
        status, response_headers, body = original(self, bucket_name, query, key_name, headers)
        part = query.get("partNumber", [None])[0]
        if status != 200 or part or headers.get("x-amz-checksum-mode") != "ENABLED":
            return status, response_headers, body
        version_id = query.get("versionId", [None])[0]
        key = self.backend.head_object(bucket_name, key_name, version_id=version_id)
        algorithm = getattr(key, "checksum_algorithm", None)
        if key is None or not algorithm:
            return status, response_headers, body
        name = f"x-amz-checksum-{algorithm.lower()}"
        if key.checksum_type == "COMPOSITE" and key.checksum_parts:
            response_headers[name] = f"{key.checksum_value}-{key.checksum_parts}"
        response_headers["x-amz-checksum-type"] = key.checksum_type or "FULL_OBJECT"
        return status, response_headers, body

    cls.head_object = head_object


def _patch_attributes(cls: Any) -> None:
    original = cls.get_object_attributes

    def get_object_attributes(self: Any) -> Any:
        wanted = self.headers.get("x-amz-object-attributes", "").split(",")
        if "ObjectParts" not in wanted:
            return original(self)
        from moto.core.responses import ActionResult

        key, _ = self._get_key(validate_storage_class=False)
        headers = self._get_cors_headers_other()
        if key.version_id != "null":
            headers["x-amz-version-id"] = key.version_id
        result: dict[str, Any] = {"LastModified": key.last_modified, "ObjectSize": key.size}
        if "ETag" in wanted:
            result["ETag"] = key.etag.replace('"', "")
        if "Checksum" in wanted and key.checksum_value is not None:
            result["Checksum"] = {
                f"Checksum{key.checksum_algorithm}": key.checksum_value,
                "ChecksumType": key.checksum_type or "FULL_OBJECT",
            }
        if key.multipart is not None:
            result["ObjectParts"] = _parts(self, key)
        self.data["Action"] = "GetObjectAttributes"
        status, out_headers, body = self.serialized(ActionResult(result))
        out_headers.update(headers)
        return status, out_headers, body

    cls.get_object_attributes = get_object_attributes


def _parts(response: Any, key: Any) -> dict[str, Any]:
    count = key.multipart.parts_count
    marker = int(response.headers.get("x-amz-part-number-marker") or 0)
    limit = int(response.headers.get("x-amz-max-parts") or 1000)
    numbers = list(range(marker + 1, min(count, marker + limit) + 1))
    stored = getattr(key.multipart, "r1policy_part_checksums", None)
    parts = []
    for number in numbers:
        start, end = key.multipart.get_part_range(number)
        part: dict[str, Any] = {"PartNumber": number, "Size": end - start + 1}
        if key.checksum_type == "COMPOSITE" and key.checksum_algorithm and stored:
            part[f"Checksum{key.checksum_algorithm}"] = stored[number - 1]
        parts.append(part)
    return {
        "TotalPartsCount": count,
        "PartNumberMarker": marker,
        "NextPartNumberMarker": numbers[-1] if numbers else marker,
        "MaxParts": limit,
        "IsTruncated": bool(numbers) and numbers[-1] < count,
        "Parts": parts,
    }


def _patch_tamper(cls: Any) -> None:
    original = cls.complete_multipart_upload

    def complete_multipart_upload(self: Any, bucket_name: str, multipart_id: str, body: Any) -> Any:
        from moto.s3.utils import compute_checksum

        multipart = self.get_bucket(bucket_name).multiparts[multipart_id]
        key = original(self, bucket_name, multipart_id, body)
        if key is None:
            return key
        value = key.value
        if key.checksum_algorithm:  # each part's checksum as uploaded (before any fault below)
            multipart.r1policy_part_checksums = [
                compute_checksum(value[s : e + 1], key.checksum_algorithm).decode()
                for s, e in (multipart.get_part_range(n) for n in range(1, multipart.parts_count + 1))
            ]
        tamper = key.metadata.get(TAMPER) if hasattr(key.metadata, "get") else None
        if tamper:
            start, end = multipart.get_part_range(int(tamper))
            at = (start + end) // 2
            key.value = value[:at] + bytes([value[at] ^ 0xFF]) + value[at + 1 :]
        return key

    cls.complete_multipart_upload = complete_multipart_upload
