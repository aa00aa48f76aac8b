"""Zendesk: tickets tagged as product feedback, from the Incremental Ticket Export API or a JSON export file.

The API read is cursor based (`start_time` once, then `cursor=<after_cursor>` until `end_of_stream`), so a
page boundary never skips or repeats a ticket. Organization names come side-loaded; the few ids that are not
side-loaded are fetched in one `show_many` call per page. The endpoint allows 10 requests a minute, so the
connector paces itself instead of leaning on 429s (which it still honours via `Retry-After`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from connectors.base import Connector
from connectors.http import (
    JSONPathPaginator,
    MalformedPayloadError,
    RateLimiter,
    SourceConfigError,
    SourceHTTP,
    paginate,
    parse_json,
)
from connectors.signal import Signal, SourceName
from connectors.text import (
    first_line,
    guess_kind,
    guess_tags,
    html_to_text,
    json_records,
    ndjson_records,
    parse_timestamp,
    read_export_text,
)
from service.logging import get_logger

log = get_logger(__name__)

# Webmail domains say nothing about the account; such requesters are individuals (customer left empty).
WEBMAIL_DOMAINS = frozenset(
    {"gmail.com", "googlemail.com", "yahoo.com", "outlook.com", "hotmail.com", "live.com", "icloud.com",
     "proton.me", "protonmail.com", "aol.com", "gmx.com"}
)  # fmt: skip


class ZendeskConnector(Connector):
    """Tickets with any of `ZENDESK_TAGS` -> signals (customer = organization, else requester's email domain)."""

    source = SourceName.ZENDESK
    enable_hint = (
        "set ZENDESK_URL plus ZENDESK_EMAIL and ZENDESK_API_TOKEN (or ZENDESK_OAUTH_TOKEN), or ZENDESK_EXPORT_PATH"
    )
    export_endpoint: ClassVar[str] = "/api/v2/incremental/tickets/cursor.json"
    organizations_endpoint: ClassVar[str] = "/api/v2/organizations/show_many.json"
    side_loads: ClassVar[str] = "users,organizations"
    requests_per_second: ClassVar[float] = 10 / 60  # Incremental Exports: 10 requests per minute
    show_many_limit: ClassVar[int] = 100
    # Ticket types that mean "something is broken" (Zendesk's `type` field).
    bug_types: ClassVar[frozenset[str]] = frozenset({"problem", "incident"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._org_names: dict[int, str] = {}
        self._user_emails: dict[int, str] = {}

    # --- configuration ----------------------------------------------------------------------------------------

    @property
    def export_path(self) -> Path | None:
        return self.settings.zendesk_export_path

    def api_configured(self) -> bool:
        s = self.settings
        has_oauth = s.zendesk_oauth_token is not None and bool(s.zendesk_oauth_token.get_secret_value())
        has_token = bool(s.zendesk_email) and s.zendesk_api_token is not None
        return bool(s.zendesk_url) and (has_oauth or has_token)

    @property
    def base_url(self) -> str:
        """`ZENDESK_URL` as a base URL; a bare subdomain (`acme`) means `https://acme.zendesk.com`."""
        raw = (self.settings.zendesk_url or "").strip().rstrip("/")
        if not raw:
            raise SourceConfigError(self.source.value, "ZENDESK_URL is not set (e.g. https://acme.zendesk.com)")
        if "://" not in raw:
            raw = f"https://{raw}" if "." in raw else f"https://{raw}.zendesk.com"
        return raw

    def _http(self) -> SourceHTTP:
        s = self.settings
        headers = {"Accept": "application/json"}
        auth: tuple[str, str] | None = None
        if s.zendesk_oauth_token is not None and s.zendesk_oauth_token.get_secret_value():
            headers["Authorization"] = f"Bearer {s.zendesk_oauth_token.get_secret_value()}"
        elif s.zendesk_email and s.zendesk_api_token is not None:
            auth = (f"{s.zendesk_email}/token", s.zendesk_api_token.get_secret_value())
        return SourceHTTP(
            source=self.source.value,
            base_url=self.base_url,
            headers=headers,
            auth=auth,
            setting_hint={
                401: "Check ZENDESK_EMAIL / ZENDESK_API_TOKEN (or ZENDESK_OAUTH_TOKEN): Zendesk rejected them",
                403: (
                    "The Incremental Export API is for admins only: the user of ZENDESK_EMAIL (or of "
                    "ZENDESK_OAUTH_TOKEN) is not a Zendesk admin. Use an admin's token, or set ZENDESK_EXPORT_PATH"
                ),
                404: "Check ZENDESK_URL (e.g. https://acme.zendesk.com): no Zendesk API there",
            },
            rate_limiter=RateLimiter(self.requests_per_second, clock=self.clock, sleep=self.sleep),
            transport=self.transport,
            sleep=self.sleep,
        )

    # --- live API ---------------------------------------------------------------------------------------------

    def read_api(self, since: datetime | None) -> Iterator[Signal]:
        """Incremental Ticket Export from `since` (closed) to now; the cursor is followed to `end_of_stream`."""
        http = self._http()
        start_time = int(since.timestamp()) if since is not None else 0

        def fetch(cursor: str | None) -> tuple[httpx.Response, Any]:
            params: dict[str, str | int] = {"include": self.side_loads}
            if cursor is None:
                params["start_time"] = start_time
            else:
                params["cursor"] = cursor
            response = http.request("GET", self.export_endpoint, params=params)
            body = parse_json(self.source.value, response)
            if not isinstance(body, dict) or not isinstance(body.get("tickets"), list):
                raise MalformedPayloadError(
                    self.source.value, f"{self.export_endpoint} returned no `tickets` array (keys: {_keys(body)})"
                )
            return response, body

        try:
            paginator = JSONPathPaginator(self.source.value, ("after_cursor",), stop_when=("end_of_stream",))
            for _, body in paginate(fetch, paginator):
                self._remember_side_loads(body)
                tickets = [t for t in body["tickets"] if isinstance(t, dict)]
                self._fetch_missing_organizations(http, tickets)
                for index, ticket in enumerate(body["tickets"]):
                    where = _ticket_where(ticket, self.base_url, index)
                    signal = self._to_signal(ticket, where, since)
                    if signal is not None:
                        yield signal
        finally:
            self.calls += http.calls
            http.close()

    def _remember_side_loads(self, body: Mapping[str, Any]) -> None:
        for org in _dicts(body.get("organizations")):
            if isinstance(org.get("id"), int) and isinstance(org.get("name"), str):
                self._org_names[org["id"]] = org["name"]
        for user in _dicts(body.get("users")):
            if isinstance(user.get("id"), int) and isinstance(user.get("email"), str):
                self._user_emails[user["id"]] = user["email"]

    def _fetch_missing_organizations(self, http: SourceHTTP, tickets: Iterable[Mapping[str, Any]]) -> None:
        """One `show_many` call per 100 organization ids that the side-load did not include."""
        missing = sorted(
            {
                t["organization_id"]
                for t in tickets
                if isinstance(t.get("organization_id"), int) and t["organization_id"] not in self._org_names
            }
        )
        for chunk_start in range(0, len(missing), self.show_many_limit):
            chunk = missing[chunk_start : chunk_start + self.show_many_limit]
            body = http.get_json(self.organizations_endpoint, params={"ids": ",".join(map(str, chunk))})
            if not isinstance(body, dict) or not isinstance(body.get("organizations"), list):
                raise MalformedPayloadError(
                    self.source.value,
                    f"{self.organizations_endpoint} returned no `organizations` array (keys: {_keys(body)})",
                )
            self._remember_side_loads(body)

    # --- export file ------------------------------------------------------------------------------------------

    def read_export(self, since: datetime | None) -> Iterator[Signal]:
        """Zendesk's JSON export: an array of tickets, `{"tickets": [...]}`, or NDJSON (one ticket a line)."""
        path = self.export_path
        if path is None:
            return
        text = read_export_text(self.source.value, path, "ZENDESK_EXPORT_PATH")
        for where, ticket in self._export_tickets(path, text):
            if isinstance(ticket, dict):
                self._remember_side_loads({"organizations": ticket.get("organizations"), "users": ticket.get("users")})
            signal = self._to_signal(ticket, where, since)
            if signal is not None:
                yield signal

    def _export_tickets(self, path: Path, text: str) -> Iterator[tuple[str, Any]]:
        try:
            records = json_records(text, "tickets")
        except json.JSONDecodeError as whole_error:
            first = next((line for line in text.splitlines() if line.strip()), "")
            try:
                looks_ndjson = isinstance(json.loads(first), dict)
            except json.JSONDecodeError:
                looks_ndjson = False
            if not looks_ndjson:
                raise MalformedPayloadError(
                    self.source.value,
                    f"{path}:{whole_error.lineno}: not valid JSON ({whole_error.msg}); expected a JSON array of "
                    "tickets, an object with `tickets`, or NDJSON (one ticket per line)",
                ) from None
            for line, item in ndjson_records(text):
                if isinstance(item, json.JSONDecodeError):
                    self.skip(f"{path}:{line}", f"not valid JSON ({item.msg} at column {item.colno})")
                    continue
                yield f"{path}:{line}", item
            return
        if records is None:
            raise MalformedPayloadError(
                self.source.value,
                f"{path}: expected a JSON array of tickets or an object with a `tickets` array, found neither",
            )
        if text.lstrip().startswith("{"):  # `{"tickets": [...], "organizations": [...], "users": [...]}`
            self._remember_side_loads(json.loads(text))
        for index, (item_line, item) in enumerate(records):
            yield (f"{path}:{item_line}" if item_line is not None else f"{path}:ticket {index + 1}"), item

    # --- one ticket -------------------------------------------------------------------------------------------

    def _to_signal(self, ticket: Any, where: str, since: datetime | None) -> Signal | None:
        """A ticket as a signal; None (and a recorded problem when it is malformed) when it does not qualify."""
        if not isinstance(ticket, dict):
            self.skip(where, f"expected a ticket object, found {type(ticket).__name__}")
            return None
        ticket_id = ticket.get("id")
        if isinstance(ticket_id, str) and ticket_id.strip().isdigit():
            ticket_id = int(ticket_id)
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
            self.skip(where, f"ticket has no numeric `id` (found {ticket_id!r})")
            return None
        if ticket.get("status") == "deleted":
            return None
        tags = [str(tag) for tag in ticket.get("tags") or [] if isinstance(tag, str | int)]
        wanted = {tag.lower() for tag in self.settings.zendesk_tags}
        if wanted and not wanted & {tag.lower() for tag in tags}:
            return None
        try:
            created = parse_timestamp(ticket.get("created_at"))
            updated = parse_timestamp(ticket.get("updated_at") or ticket.get("created_at"))
        except ValueError as exc:
            self.skip(where, f"ticket {ticket_id}: {exc}")
            return None
        if since is not None and updated < since:
            return None
        description = ticket.get("description")
        text = html_to_text(description) if isinstance(description, str) else ""
        # `subject` is rendered; `raw_subject` may be a dynamic-content placeholder such as "{{dc.refund}}".
        subject = ticket.get("subject") or ticket.get("raw_subject")
        title = first_line(html_to_text(subject)) if isinstance(subject, str) and subject.strip() else ""
        title = title or first_line(text) or f"Zendesk ticket {ticket_id}"
        ticket_type = ticket.get("type") if isinstance(ticket.get("type"), str) else None
        labels = [*tags, ticket_type] if ticket_type in self.bug_types else tags
        return Signal(
            source=self.source,
            external_id=str(ticket_id),
            url=self._agent_url(ticket, ticket_id),
            title=title,
            text=text,
            customer=self._customer(ticket),
            segment=None,
            kind_hint=guess_kind(title, text, labels=[label for label in labels if label]),
            votes=None,
            rating=None,
            created_at=created,
            updated_at=max(updated, created),
            tags=guess_tags(title, text),
        )

    def _agent_url(self, ticket: Mapping[str, Any], ticket_id: int) -> str | None:
        """`https://<sub>.zendesk.com/agent/tickets/<id>`: host from ZENDESK_URL, else from the ticket's API url."""
        if self.settings.zendesk_url:
            return f"{self.base_url}/agent/tickets/{ticket_id}"
        api_url = ticket.get("url")
        if isinstance(api_url, str) and api_url.startswith("http"):
            parts = urlsplit(api_url)
            return f"{parts.scheme}://{parts.netloc}/agent/tickets/{ticket_id}"
        return None

    def _customer(self, ticket: Mapping[str, Any]) -> str | None:
        """Organization name (side-loaded, inline or `organization_name`), else the requester's email domain."""
        org = ticket.get("organization")
        if isinstance(org, dict) and isinstance(org.get("name"), str) and org["name"].strip():
            return str(org["name"]).strip()
        if isinstance(org, str) and org.strip():
            return org.strip()
        if isinstance(ticket.get("organization_name"), str) and ticket["organization_name"].strip():
            return str(ticket["organization_name"]).strip()
        org_id = ticket.get("organization_id")
        if isinstance(org_id, int) and org_id in self._org_names:
            return self._org_names[org_id]
        return _email_domain(self._requester_email(ticket))

    def _requester_email(self, ticket: Mapping[str, Any]) -> str | None:
        requester = ticket.get("requester")
        if isinstance(requester, dict) and isinstance(requester.get("email"), str):
            return str(requester["email"])
        if isinstance(ticket.get("requester_email"), str):
            return str(ticket["requester_email"])
        requester_id = ticket.get("requester_id")
        if isinstance(requester_id, int) and requester_id in self._user_emails:
            return self._user_emails[requester_id]
        via = ticket.get("via")
        sender = _dig(via, "source", "from", "address")
        return sender if isinstance(sender, str) else None


def _email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower()
    return None if not domain or domain in WEBMAIL_DOMAINS else domain


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _keys(body: Any) -> str:
    return ", ".join(sorted(map(str, body))) if isinstance(body, dict) else type(body).__name__


def _ticket_where(ticket: Any, base_url: str, index: int) -> str:
    if isinstance(ticket, dict):
        if isinstance(ticket.get("url"), str):
            return str(ticket["url"])
        if ticket.get("id") is not None:
            return f"{base_url}/api/v2/tickets/{ticket['id']}.json"
    return f"{base_url}{ZendeskConnector.export_endpoint} (ticket #{index + 1} of the page)"


__all__ = ["ZendeskConnector"]
