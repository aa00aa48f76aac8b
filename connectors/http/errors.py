"""Every way a source can fail, as one exception tree plus the failure type a person acts on.

The failure type says who has to act: `config` and `auth` an operator (fix a setting), `not_found` an operator
(an id or URL in a setting), `transient` nobody (the source was down; the next run retries), `payload` the
source (its body broke its own documentation). Sync turns `config` into exit code 2.

Exception tree::

    SourceError                      any failure of one source; the run reports it and goes on
    ├── SourceConfigError            config: a setting is missing or wrong (exit code 2 territory)
    ├── SourceAuthError              auth: 401/403, the token or a permission/scope is wrong
    ├── SourceNotFoundError          not_found: 404, the URL, id or repo in a setting does not exist
    ├── SourceUnavailableError       transient: 5xx / timeouts / rate limits still failing after every retry
    ├── PaginationLoopError          payload: the source handed back a page token it already gave
    └── MalformedPayloadError        payload: the body is not what the API documents (names the field)
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class FailureType(StrEnum):
    CONFIG = "config"
    AUTH = "auth"
    NOT_FOUND = "not_found"
    TRANSIENT = "transient"
    PAYLOAD = "payload"


class SourceError(Exception):
    """A source failed; `source` names it. The message says what to fix; `status` is the HTTP status, if any."""

    failure_type: ClassVar[FailureType | None] = None

    def __init__(self, source: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.status = status

    @property
    def detail(self) -> str:
        """The message without the `source: ` prefix (for joining several failures of one source)."""
        text, prefix = str(self), f"{self.source}: "
        return text[len(prefix) :] if text.startswith(prefix) else text


class SourceConfigError(SourceError):
    """A setting is missing or invalid."""

    failure_type = FailureType.CONFIG


class SourceAuthError(SourceError):
    """401/403 from the source."""

    failure_type = FailureType.AUTH


class SourceNotFoundError(SourceError):
    """404 from the source."""

    failure_type = FailureType.NOT_FOUND


class SourceUnavailableError(SourceError):
    """Retries exhausted on 5xx, timeouts or rate limits."""

    failure_type = FailureType.TRANSIENT


class MalformedPayloadError(SourceError):
    """The response body (or an export file) does not have the documented shape."""

    failure_type = FailureType.PAYLOAD


class PaginationLoopError(SourceError):
    """A paginator saw the same page token twice."""

    failure_type = FailureType.PAYLOAD


ERROR_FOR: dict[FailureType | None, type[SourceError]] = {
    FailureType.CONFIG: SourceConfigError,
    FailureType.AUTH: SourceAuthError,
    FailureType.NOT_FOUND: SourceNotFoundError,
    FailureType.TRANSIENT: SourceUnavailableError,
    FailureType.PAYLOAD: MalformedPayloadError,
    None: SourceError,
}


__all__ = [
    "ERROR_FOR",
    "FailureType",
    "MalformedPayloadError",
    "PaginationLoopError",
    "SourceAuthError",
    "SourceConfigError",
    "SourceError",
    "SourceNotFoundError",
    "SourceUnavailableError",
]
