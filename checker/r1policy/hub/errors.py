"""The Hub layer's own error type; huggingface_hub's exceptions are translated where it is called."""

from __future__ import annotations

from enum import StrEnum

from r1policy.core.errors import SourceError


class HubErrorKind(StrEnum):
    REPO_NOT_FOUND = "repo_not_found"
    GATED = "gated_no_access"
    REVISION_NOT_FOUND = "revision_not_found"
    DISABLED = "disabled"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    NETWORK = "network"
    OFFLINE_MISS = "offline_miss"
    BAD_RESPONSE = "bad_response"
    TOO_LARGE = "too_large"
    # The Hub answered for another repository, or resolved a 40-hex revision to another commit.
    ANSWER_MISMATCH = "answer_mismatch"

    @property
    def definitive(self) -> bool:
        """The Hub answered, and the answer is about the repository itself (not a transient failure)."""
        return self in _DEFINITIVE


_DEFINITIVE = frozenset(
    {
        HubErrorKind.REPO_NOT_FOUND,
        HubErrorKind.GATED,
        HubErrorKind.REVISION_NOT_FOUND,
        HubErrorKind.DISABLED,
    }
)


class HubError(SourceError):
    """A Hub request failed; `kind` says how, the message says what was asked and what to do."""

    def __init__(self, kind: HubErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def retry_after(exc: BaseException) -> float | None:
    """The seconds a failed HTTP answer asks to wait (`Retry-After`), if it says."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
