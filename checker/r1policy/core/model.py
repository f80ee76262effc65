"""What policies judge: deployments (model source, container, endpoint) and buckets.

Every source (native manifests now; CloudFormation, Terraform, SageMaker API and Kubernetes later)
normalises into these types, so that every rule applies unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from r1policy.core.findings import Location
from r1policy.core.record import frozen_record


class SourceKind(StrEnum):
    HUB = "hub"
    S3 = "s3"
    LOCAL = "local"
    NONE = "none"
    # SageMaker JumpStart: `repo` holds the JumpStart model id, `revision` its model_version.
    JUMPSTART = "jumpstart"


# Field names a finding can point at; each source records where it found them.
FIELD_MODEL = "model"
FIELD_REVISION = "model.revision"
FIELD_REPO = "model.repo"
FIELD_S3_URI = "model.s3_uri"
FIELD_PARAMETERS = "model.parameters"
FIELD_DTYPE = "model.dtype"
FIELD_TRUST_REMOTE_CODE = "model.trust_remote_code"
FIELD_IMAGE = "container.image"
FIELD_HUB_ENDPOINT = "container.hub_endpoint"  # a Hub endpoint override in the container's environment
FIELD_ENDPOINT = "endpoint"
FIELD_INSTANCE_TYPE = "endpoint.instance_type"
FIELD_NETWORK_ISOLATION = "endpoint.network_isolation"
FIELD_VPC = "endpoint.vpc"
FIELD_KMS = "endpoint.kms_key"
FIELD_DATA_CAPTURE = "endpoint.data_capture"
FIELD_ASYNC = "endpoint.async_output"
FIELD_REGION = "endpoint.region"
FIELD_ROLE = "model.execution_role"  # the SageMaker model's ExecutionRoleArn (R1-IAM-001, R1-IAM-002)


@dataclass(frozen=True)
class ModelSource:
    """Where the model weights come from (Hub repo and revision, S3 prefix, JumpStart), and their size."""

    kind: SourceKind
    repo: str | None = None  # org/name for the Hub
    revision: str | None = None
    s3_uri: str | None = None
    parameters: float | None = None
    dtype: str | None = None
    trust_remote_code: bool = False
    # S3 models of a native manifest: the declared licence (canonical id) and Hub base models
    license: str | None = None
    base_models: tuple[str, ...] = ()

    @property
    def publisher(self) -> str | None:
        if self.kind is SourceKind.JUMPSTART:
            return None
        if self.repo and "/" in self.repo:
            return self.repo.split("/", 1)[0]
        return None

    @property
    def bucket(self) -> str | None:
        if self.s3_uri and self.s3_uri.startswith("s3://"):
            return self.s3_uri[5:].split("/", 1)[0] or None
        return None

    @property
    def uri(self) -> str:
        if self.kind is SourceKind.HUB and self.repo:
            return f"hf://{self.repo}" + (f"@{self.revision}" if self.revision else "")
        if self.kind is SourceKind.S3 and self.s3_uri:
            return self.s3_uri
        if self.kind is SourceKind.JUMPSTART and self.repo:
            return f"jumpstart://{self.repo}" + (f"@{self.revision}" if self.revision else "")
        return "(none)"


@dataclass(frozen=True)
class Encryption:
    """An enabled output (data capture, async inference) and the KMS key that encrypts it, if any."""

    kms_key: str | None


@dataclass(frozen=True)
class Endpoint:
    """The SageMaker endpoint a deployment creates: instance type and count, network, encryption, account."""

    name: str
    region: str | None
    instance_type: str | None
    instance_count: int = 1
    network_isolation: bool = False
    vpc_subnets: tuple[str, ...] = ()
    vpc_security_groups: tuple[str, ...] = ()
    kms_key: str | None = None
    data_capture: Encryption | None = None
    async_output: Encryption | None = None
    account: str | None = None
    # "endpoint", or "endpoint-config" for an endpoint configuration that no endpoint uses (yet).
    resource: str = "endpoint"

    @property
    def arn(self) -> str | None:
        if self.account and self.region:
            return f"arn:aws:sagemaker:{self.region}:{self.account}:{self.resource}/{self.name}"
        return None


@dataclass(frozen=True)
class Deployment:
    """One model deployment, whatever file format it was written in."""

    name: str
    model: ModelSource
    image: str | None
    endpoint: Endpoint | None
    env: tuple[tuple[str, str], ...] = ()
    owner: str | None = None
    stage: str | None = None
    origin: Location | None = None
    # Where it runs: "sagemaker", or "kubernetes" (SageMaker endpoint rules do not apply there).
    platform: str = "sagemaker"
    # The input format it was read from ("r1policy/v1", "sagemaker-api", "cloudformation",
    # "terraform-plan", "kubernetes", or a registered reader's name): messages speak its language.
    input_kind: str = "r1policy/v1"
    # field name (FIELD_*) -> where it was written
    locations: dict[str, Location] = field(default_factory=dict, compare=False, hash=False)
    # field name (FIELD_*) -> why its value is unknown (a template parameter without a default, an
    # undecidable condition, ...): every rule that reads the field is `error`, never guessed.
    unknown: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    # The IAM role the model runs as (CreateModel ExecutionRoleArn), when the input names one.
    execution_role: str | None = None
    # The role's policies when the same file defines the role (a state-v1 `iam_roles` record).
    role_record: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    def location_of(self, *fields: str) -> Location | None:
        for name in fields:
            if name in self.locations:
                return self.locations[name]
        return self.origin


@frozen_record
class FileBucket:
    """A bucket defined in the checked files (CloudFormation template, Terraform plan), judged statically.

    `record` has the shape of a state-v1 bucket record (schemas/state-v1.schema.json); `kms_keys` and
    `accounts` hold what the same files say about its KMS key and account, shaped like the snapshot's
    sections; `locations` maps a bucket fact (`bucket.encryption`, ...) to where it was written.
    """

    name: str
    record: dict[str, Any]
    origin: Location | None = None
    locations: dict[str, Location] = field(default_factory=dict, compare=False, hash=False)
    kms_keys: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, hash=False)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, hash=False)
    # Facts (`bucket.versioning`, ...) the files decide but not to one value (a template parameter's
    # allowed values give different settings): `error` even with --static, never skipped as "live".
    settled: frozenset[str] = field(default=frozenset(), compare=False, hash=False)


class Loaded(list[Deployment]):
    """What a loader found in one document: its deployments (the list itself), plus the buckets the
    file defines (judged statically) and notes for the report (e.g. "nothing to judge")."""

    def __init__(self, deployments: list[Deployment] | None = None) -> None:
        super().__init__(deployments or [])
        self.buckets: list[FileBucket] = []
        self.notes: list[str] = []

    def absorb(self, other: list[Deployment]) -> None:
        self.extend(other)
        if isinstance(other, Loaded):
            self.buckets.extend(other.buckets)
            self.notes.extend(other.notes)
