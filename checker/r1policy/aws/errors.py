"""Errors of the AWS collectors, and the translation of botocore exceptions into fact-level reasons."""

from __future__ import annotations

import botocore.exceptions

from r1policy.core.errors import SourceError

# Error codes that mean "the caller may not do this" / "slow down" / "this region is not enabled".
ACCESS_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AllAccessDisabled", "403"}
)
THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "RequestThrottled",
        "RequestThrottledException",
        "ServiceUnavailable",
        "503",
    }
)
REGION_DISABLED = frozenset(
    {"InvalidClientTokenId", "UnrecognizedClientException", "OptInRequired", "AuthFailure"}
)
EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"})


class CollectorError(SourceError):
    """The AWS collectors could not do their job as a whole (no partial result is usable)."""


class CredentialsError(CollectorError):
    """Missing, expired or refused credentials, or a role that cannot be assumed (exit 2)."""


def error_code(exc: botocore.exceptions.ClientError) -> str:
    return str(
        exc.response.get("Error", {}).get("Code")
        or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "unknown")
    )


def classify(exc: Exception) -> str:
    """A one-line reason for a failed call, naming the kind of failure (for ``errors`` in the state)."""
    if isinstance(exc, botocore.exceptions.ClientError):
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message") or ""
        operation = exc.operation_name
        if code in ACCESS_DENIED:
            return f"AccessDenied on {operation}: {message or 'the caller lacks the permission'}"
        if code in THROTTLED:
            return f"throttled past retries on {operation} ({code})"
        if code in EXPIRED:
            return f"credentials expired on {operation} ({code})"
        if code in REGION_DISABLED:
            return f"{code} on {operation}: the region may not be enabled for this account"
        return f"{code} on {operation}: {message}".rstrip(": ")
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectTimeoutError):
        return f"endpoint unreachable: {exc}"
    if isinstance(exc, botocore.exceptions.ReadTimeoutError):
        return f"endpoint did not answer in time: {exc}"
    return f"{type(exc).__name__}: {exc}"


def is_expired(exc: Exception) -> bool:
    return isinstance(exc, botocore.exceptions.ClientError) and error_code(exc) in EXPIRED


def is_region_disabled(exc: Exception) -> bool:
    return isinstance(exc, botocore.exceptions.ClientError) and error_code(exc) in REGION_DISABLED


# The exceptions a single read may raise that make exactly its facts unreadable (not the run).
CALL_ERRORS: tuple[type[Exception], ...] = (
    botocore.exceptions.ClientError,
    botocore.exceptions.BotoCoreError,
)
