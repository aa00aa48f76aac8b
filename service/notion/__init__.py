"""The Notion layer: the only importer of `notion_client`. `NotionGateway` is its one public facade.

client: build the `notion_client.Client` (real API or in-process sandbox); session: the one call loop (rate
limit, retry, counting, pagination); errors: the `NotionError` tree; calls: `CallCounter`; codecs/schema:
property values and the database contract; database/rows/pages: the calls by resource.
"""

from service.notion.calls import CallCounter
from service.notion.codecs import CodecError, LinkedText
from service.notion.database import DatabaseRef, InitReport, SchemaDiff, diff_schema, property_schema
from service.notion.errors import (
    NotionAuthError,
    NotionError,
    NotionNotFoundError,
    NotionUnavailableError,
    NotionValidationError,
)
from service.notion.gateway import NotionGateway
from service.notion.rows import Row, RowWrite, UpsertResult, content_hash
from service.notion.schema import SchemaProblem
from service.notion.session import shared_rate_limiter

__all__ = [
    "CallCounter",
    "CodecError",
    "DatabaseRef",
    "InitReport",
    "LinkedText",
    "NotionAuthError",
    "NotionError",
    "NotionGateway",
    "NotionNotFoundError",
    "NotionUnavailableError",
    "NotionValidationError",
    "Row",
    "RowWrite",
    "SchemaDiff",
    "SchemaProblem",
    "UpsertResult",
    "content_hash",
    "diff_schema",
    "property_schema",
    "shared_rate_limiter",
]
