"""Read-only AWS collectors (boto3) for `check --live`, `snapshot` and `audit`.

Every call is a List/Get/Describe read (the IAM policy `policies/iam/r1policy-auditor.json` is
exactly what they need). Importing this package does not import boto3; the submodules do.

Sessions — ``r1policy.aws.session``
    ``open_accounts(*, profiles=None, role_arns=None, region=None) -> list[AccountSession]``:
    one session per account (the default credential chain, each ``--profiles`` name, each
    ``--role-arns`` role assumed with STS from the default chain), each checked with
    GetCallerIdentity. Missing/expired/refused credentials raise ``CredentialsError`` (exit 2).
    ``AccountSession``: ``.account_id``, ``.label``, ``.default_region``,
    ``.client(service, region=None)`` (one cached client per service+region, adaptive retries),
    ``.on_event(event, handler)`` (botocore hook on all its clients, e.g. to count calls).
    ``install_s3control_fix(session)``: S3 Control host-label fix for a custom endpoint (applied
    automatically when ``AWS_ENDPOINT_URL`` is set).

Errors — ``r1policy.aws.errors``
    ``CollectorError`` (a ``SourceError``: the collection failed as a whole, exit 2) and
    ``CredentialsError``. A single failed read (AccessDenied, throttled past retries, endpoint
    unreachable, region not enabled) never raises: it is recorded under ``errors`` next to the facts
    it feeds, and the engine reports ``error`` for exactly the rules that need them.

Collection — ``r1policy.aws.collect``
    ``collect_state(accounts, *, regions, buckets=(), endpoints=(), sagemaker=False, kms_keys=(),
    progress=None, pools=None) -> dict``: a complete state-v1 document (``schemas/state-v1.schema.json``),
    ready for ``r1policy.project.state.from_value(doc, "<live>")`` or to be written as a snapshot.
    ``buckets``: bucket names to read; ``endpoints``: ``(region, name)`` pairs of endpoints to
    look up (each found one is described with its config and models); ``sagemaker=True``: enumerate
    every model, endpoint config and endpoint in ``regions`` for every account; the buckets their
    models load from are read too; ``kms_keys``: ``(region, key)`` pairs to describe as well (the
    bucket keys and endpoint-config keys are found by themselves). Each bucket, key and SageMaker
    resource is read once; a bucket is read with the credentials of the audited account that owns
    it (ListBuckets), and one no audited account owns gets ``errors.account_id``.
    ``pools``: a ``r1policy.aws.pools.Pools`` (bounded thread pools per account and per
    account+region); by default one is created and closed per call.

Live check — ``r1policy.aws.live``
    ``live_state(deployments) -> StateSnapshot`` (what `check --live` uses: the buckets, KMS keys
    and same-named existing endpoints that the deployments reference) and ``references(...)``.
    ``progress(phase, done, total)`` is called from worker threads as work completes.

State shape added for SageMaker (``StateSnapshot.sagemaker``):
    ``{"<account id>": {"<region>": {"models": [DescribeModel...], "endpoint_configs":
    [DescribeEndpointConfig...], "endpoints": [DescribeEndpoint...], "errors": {"<what>": "<why>"}}}}``
    — the raw Describe* dicts (datetimes as ISO strings, no ResponseMetadata), the input of
    ``r1policy.sources.sagemaker.api.deployments_from_api``. ``errors`` keys: ``"region"`` (the
    region could not be listed at all, e.g. not enabled), ``"models"`` / ``"endpoint_configs"`` /
    ``"endpoints"`` (that listing failed), ``"model/<name>"`` etc. (one Describe failed).

Command-line options — ``r1policy.aws.options`` (no boto3 at import)
    ``add_account_options(parser)`` adds ``--regions``, ``--profiles``, ``--role-arns``;
    ``accounts_from_args(args) -> list[AccountSession]``; ``regions_from_args(args, accounts)``
    (default: the configured region).
"""
