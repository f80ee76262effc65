"""Container environment variables that name or pin a model (SPEC §5), read as the containers do."""

from __future__ import annotations

from dataclasses import dataclass, replace

from r1policy.findings import Location
from r1policy.model import (
    FIELD_MODEL,
    FIELD_REPO,
    FIELD_REVISION,
    FIELD_S3_URI,
    FIELD_TRUST_REMOTE_CODE,
    ModelSource,
    SourceKind,
)

MODEL_ID_VARS = ("OPTION_MODEL_ID", "HF_MODEL_ID")  # LMI's option wins over the generic one
REVISION_VARS = ("OPTION_REVISION", "HF_MODEL_REVISION", "HF_REVISION")
TRUST_VARS = ("OPTION_TRUST_REMOTE_CODE", "HF_MODEL_TRUST_REMOTE_CODE")
SAGEMAKER_MODEL_DIR = "/opt/ml/model"
_TRUE = {"true", "1", "yes", "on"}


@dataclass(frozen=True)
class EnvOverride:
    model: ModelSource
    locations: dict[str, Location]


def apply_env(model: ModelSource, env: dict[str, str], env_locations: dict[str, Location]) -> EnvOverride:
    """Return the model source the container will really use, and where each override was written."""
    locations: dict[str, Location] = {}
    for var in MODEL_ID_VARS:
        value = env.get(var)
        if value is None:
            continue
        value = value.strip()
        where = env_locations.get(var)
        if value.startswith("s3://"):
            model = replace(model, kind=SourceKind.S3, s3_uri=value, repo=None, revision=None)
            _put(locations, where, FIELD_MODEL, FIELD_S3_URI)
        elif value.rstrip("/") == SAGEMAKER_MODEL_DIR or value.startswith("/"):
            # Weights come from the model data source (S3) mounted into the container.
            pass
        else:
            # Anything else is what the container asks the Hub for: a malformed id (`org/../x`,
            # `%2F`, a third `/`) is refused by discovery's repo-id check, never ignored.
            if model.kind is not SourceKind.HUB or model.repo != value:
                model = replace(model, kind=SourceKind.HUB, repo=value, s3_uri=None, revision=None)
            _put(locations, where, FIELD_MODEL, FIELD_REPO)
        break
    for var in REVISION_VARS:
        value = env.get(var)
        if value is not None and model.kind is SourceKind.HUB:
            model = replace(model, revision=value.strip() or None)
            _put(locations, env_locations.get(var), FIELD_REVISION)
            break
    for var in TRUST_VARS:
        value = env.get(var)
        if value is not None and value.strip().lower() in _TRUE:
            model = replace(model, trust_remote_code=True)
            _put(locations, env_locations.get(var), FIELD_TRUST_REMOTE_CODE)
            break
    return EnvOverride(model=model, locations=locations)


def _put(locations: dict[str, Location], where: Location | None, *fields: str) -> None:
    if where is not None:
        for name in fields:
            locations[name] = where
