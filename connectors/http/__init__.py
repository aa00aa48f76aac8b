"""The one HTTP toolkit every connector (and the Notion session) uses: errors, one decision table, one retry
policy, rate limiters, paginators and the client that runs a request through all of them.

    errors.py      SourceError tree + FailureType
    decide.py      status / exception class -> Decision (action, failure type, hint); Retry-After parsing
    retry.py       RetryPolicy: back-off + jitter, capped server waits, a deadline, recover()
    ratelimit.py   RateLimiter (token bucket, pause on 429) and WindowBudget (the source's own headers)
    pagination.py  paginators that read the next token and place it in the next request; the loop guard
    client.py      SourceHTTP = httpx.Client + decide + retry + limiter + call count
"""

from connectors.http.client import SourceHTTP, parse_json, require_http_url
from connectors.http.decide import (
    DEFAULT_ERROR_MAPPING,
    DEFAULT_TABLE,
    Action,
    Decision,
    DecisionTable,
    ResponseAction,
    default_decide,
    retry_after_seconds,
)
from connectors.http.errors import (
    FailureType,
    MalformedPayloadError,
    PaginationLoopError,
    SourceAuthError,
    SourceConfigError,
    SourceError,
    SourceNotFoundError,
    SourceUnavailableError,
)
from connectors.http.pagination import (
    JSONBodyPaginator,
    LinkHeaderPaginator,
    NextURLPaginator,
    PageRequest,
    Paginator,
    QueryParamPaginator,
    dig,
    paginate,
)
from connectors.http.ratelimit import RateLimiter, WindowBudget, float_header
from connectors.http.retry import RetryExhaustedError, RetryPolicy

__all__ = [
    "DEFAULT_ERROR_MAPPING",
    "DEFAULT_TABLE",
    "Action",
    "Decision",
    "DecisionTable",
    "FailureType",
    "JSONBodyPaginator",
    "LinkHeaderPaginator",
    "MalformedPayloadError",
    "NextURLPaginator",
    "PageRequest",
    "PaginationLoopError",
    "Paginator",
    "QueryParamPaginator",
    "RateLimiter",
    "ResponseAction",
    "RetryExhaustedError",
    "RetryPolicy",
    "SourceAuthError",
    "SourceConfigError",
    "SourceError",
    "SourceHTTP",
    "SourceNotFoundError",
    "SourceUnavailableError",
    "WindowBudget",
    "default_decide",
    "dig",
    "float_header",
    "paginate",
    "parse_json",
    "require_http_url",
    "retry_after_seconds",
]
