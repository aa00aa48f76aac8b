"""Zendesk: tickets tagged as product feedback, from the Incremental Ticket Export API or a JSON export file.

The API read is cursor based (`start_time` once, then `cursor=<after_cursor>` until `end_of_stream`), so a
page boundary never skips or repeats a ticket. Organization names come side-loaded; the few ids that are not
side-loaded are fetched in one `show_many` call per page. The endpoint allows 10 requests a minute, so the
connector paces itself instead of leaning on 429s (which it still honours via `Retry-After`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from connectors.base import Connector, Credentials, Probe, ProbeResult, SourceConfig, describe
from connectors.cursor import Window
from connectors.exports import ExportFile
from connectors.http import MalformedPayloadError, QueryParamPaginator, SourceHTTP, dig
from connectors.signal import Signal, SourceName
from connectors.text import describe_id, first_line, guess_kind, guess_tags, html_to_text, parse_id, parse_timestamp

# Webmail domains say nothing about the account; such requesters are individuals (customer left empty).
WEBMAIL_DOMAINS = frozenset(
    {"gmail.com", "googlemail.com", "yahoo.com", "outlook.com", "hotmail.com", "live.com", "icloud.com",
     "proton.me", "protonmail.com", "aol.com", "gmx.com"}
)  # fmt: skip
EXPORT_SHAPE = "a JSON array of tickets, an object with a `tickets` array, or NDJSON (one ticket per line)"


def zendesk_base_url(raw: str | None) -> str:
    """`ZENDESK_URL` as a base URL; a bare subdomain (`acme`) means `https://acme.zendesk.com`."""
    value = (raw or "").strip().rstrip("/")
    if value and "://" not in value:
        value = f"https://{value}" if "." in value else f"https://{value}.zendesk.com"
    return value


@dataclass(frozen=True, kw_only=True)
class ZendeskConfig(SourceConfig):
    """ZENDESK_* settings. `api_url` is derived from `url`, once, here: sync and doctor use the same one."""

    url: str | None = None
    email: str | None = None
    api_token: SecretStr | None = None
    oauth_token: SecretStr | None = None
    tags: tuple[str, ...] = ("feature-request", "voice-agents")
    organizations: Mapping[int, str] = field(default_factory=dict)  # backlog.toml id -> name, for exports

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_url", zendesk_base_url(self.url))

    @property
    def has_oauth(self) -> bool:
        return self.oauth_token is not None and bool(self.oauth_token.get_secret_value())

    @property
    def has_token(self) -> bool:
        return bool(self.email) and self.api_token is not None


class ZendeskConnector(Connector):
    """Tickets with any of `ZENDESK_TAGS` -> signals (customer = organization, else requester's email domain)."""

    config: ZendeskConfig
    source = SourceName.ZENDESK
    enable_hint = (
        "set ZENDESK_URL plus ZENDESK_EMAIL and ZENDESK_API_TOKEN (or ZENDESK_OAUTH_TOKEN), or ZENDESK_EXPORT_PATH"
    )
    base_url_setting = "ZENDESK_URL"
    export_setting = "ZENDESK_EXPORT_PATH"
    setting_hints: ClassVar[Mapping[int, str]] = {
        401: "Check ZENDESK_EMAIL / ZENDESK_API_TOKEN (or ZENDESK_OAUTH_TOKEN): Zendesk rejected them",
        403: (
            "The Incremental Export API is for admins only: the user of ZENDESK_EMAIL (or of "
            "ZENDESK_OAUTH_TOKEN) is not a Zendesk admin. Use an admin's token, or set ZENDESK_EXPORT_PATH"
        ),
        404: "Check ZENDESK_URL (e.g. https://acme.zendesk.com): no Zendesk API there",
    }
    requests_per_second = 10 / 60  # Incremental Exports: 10 requests per minute
    endpoint = "/api/v2/incremental/tickets/cursor.json"
    export_endpoint: ClassVar[str] = endpoint
    paginator = QueryParamPaginator(
        token_path=("after_cursor",), stop_when=("end_of_stream",), param="cursor", drop=("start_time",)
    )
    records_path = ("tickets",)
    organizations_endpoint: ClassVar[str] = "/api/v2/organizations/show_many.json"
    side_loads: ClassVar[str] = "users,organizations"
    show_many_limit: ClassVar[int] = 100
    # Ticket types that mean "something is broken" (Zendesk's `type` field).
    bug_types: ClassVar[frozenset[str]] = frozenset({"problem", "incident"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._org_names: dict[int, str] = {}
        self._user_emails: dict[int, str] = {}
        self._orgless = 0  # rows whose organization_id had no name: counted for one notice

    # --- configuration ----------------------------------------------------------------------------------------

    def api_configured(self) -> bool:
        return bool(self.config.url) and (self.config.has_oauth or self.config.has_token)

    @property
    def base_url(self) -> str:
        return self.config.api_url

    def credentials(self) -> Credentials:
        c = self.config
        headers = {"Accept": "application/json"}
        if c.has_oauth and c.oauth_token is not None:
            headers["Authorization"] = f"Bearer {c.oauth_token.get_secret_value()}"
            return headers, None
        if c.has_token and c.api_token is not None:
            return headers, (f"{c.email}/token", c.api_token.get_secret_value())
        return headers, None

    # --- live API ---------------------------------------------------------------------------------------------

    def params(self, window: Window) -> dict[str, str | int]:
        """Incremental Ticket Export from the window's start (closed) to now: `start_time` once, then the cursor."""
        start = window.first
        return {"include": self.side_loads, "start_time": int(start.timestamp()) if start is not None else 0}

    def page_records(self, http: SourceHTTP, response: httpx.Response, body: Any) -> list[Any]:
        records = super().page_records(http, response, body)
        self._remember_side_loads(body)
        self._fetch_missing_organizations(http, [t for t in records if isinstance(t, dict)])
        return records

    def where(self, target: str, page: int, index: int, record: Any) -> str:
        return _ticket_where(record, self.base_url, index)

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
                    f"{self.organizations_endpoint} returned no `organizations` array ({describe(body)})",
                )
            self._remember_side_loads(body)

    # --- export file ------------------------------------------------------------------------------------------

    def export_records(self, export: ExportFile) -> Iterator[tuple[str, Any]]:
        """Zendesk's JSON export: tickets as an array, `{"tickets": [...]}` (with side-loads), a search export
        (`{"results": [...]}`) or NDJSON. Organization names: side-load, `organizations.json` beside, config map."""
        head = export.nonblank_text()[:4096].lstrip()
        key = "results" if '"results"' in head and '"tickets"' not in head else "tickets"
        if '"organizations"' in head and '"tickets"' not in head and '"results"' not in head:
            raise export.malformed(
                "this is an organizations list, not tickets; point ZENDESK_EXPORT_PATH at the tickets export"
                " and put organizations.json beside it"
            )
        self._org_names.update({int(k): v for k, v in self.config.organizations.items()})
        self._load_organizations_beside(export)
        records = export.records(key, EXPORT_SHAPE, label="ticket")
        first = next(records, None)  # parses the file (and raises for a malformed one) before side-loads
        if head.startswith("{"):  # `{"tickets": [...], "organizations": [...], "users": [...]}`
            try:
                whole = json.loads(export.text())
            except (json.JSONDecodeError, RecursionError):
                whole = None  # NDJSON: side-loads come with each ticket
            if isinstance(whole, dict):
                self._remember_side_loads(whole)
        if first is not None:
            yield first
            yield from records
        self._report_missing_customers(export)

    def known_organizations(self, names: Mapping[str, str]) -> None:
        """Organization id -> name from `backlog.toml` (`[zendesk.organizations]`), for exports without names."""
        self._org_names.update({int(k): v for k, v in names.items() if k.isascii() and k.isdigit() and len(k) <= 19})

    def _load_organizations_beside(self, export: ExportFile) -> None:
        beside = export.path.with_name("organizations.json")
        if beside == export.path or not beside.is_file():
            return
        orgs = ExportFile(self.source.value, beside, self.export_setting, notice=self.notice)
        try:
            self._remember_side_loads({"organizations": orgs.json('`{"organizations": [...]}`').get("organizations")})
        except (MalformedPayloadError, AttributeError) as exc:
            self.notice(f"{beside}: not read as an organizations list ({exc}); customers may be missing")

    def _report_missing_customers(self, export: ExportFile) -> None:
        if self._orgless:
            self.notice(
                f"{export.path}: {self._orgless} rows have an organization_id but no organization name (no customer);"
                " export with `include=organizations`, put organizations.json beside it, or map ids to names"
                " under [zendesk.organizations] in backlog.toml"
            )

    def export_signal(self, record: Any, where: str) -> Signal | None:
        if isinstance(record, dict):
            self._remember_side_loads({"organizations": record.get("organizations"), "users": record.get("users")})
        return self.to_signal(record, where)

    # --- doctor -----------------------------------------------------------------------------------------------

    def probe_configured(self) -> bool:
        return bool(self.config.url)

    def incomplete(self) -> ProbeResult | None:
        if self.config.url and not (self.config.has_oauth or self.config.has_token):
            return ProbeResult(
                "credentials",
                False,
                "ZENDESK_URL is set but no credentials",
                "set ZENDESK_EMAIL + ZENDESK_API_TOKEN, or ZENDESK_OAUTH_TOKEN",
            )
        return None

    def probes(self) -> list[Probe]:
        return [
            Probe(
                "auth + admin rights",
                "/api/v2/users/me.json",
                "check ZENDESK_URL, ZENDESK_EMAIL and ZENDESK_API_TOKEN",
                _is_admin,
            )
        ]

    # --- one ticket -------------------------------------------------------------------------------------------

    def to_signal(self, record: Any, where: str) -> Signal | None:
        """A ticket as a signal; None (and a recorded problem when it is malformed) when it does not qualify."""
        ticket = record
        if not isinstance(ticket, dict):
            self.skip(where, f"expected a ticket object, found {type(ticket).__name__}")
            return None
        parsed_id = parse_id(ticket.get("id"))
        if parsed_id is None or not parsed_id.isdigit():  # Zendesk ticket ids are numbers
            self.skip(where, f"ticket: {describe_id(ticket.get('id'))}")
            return None
        ticket_id = int(parsed_id)
        if ticket.get("status") == "deleted":
            return None
        tags = [str(tag) for tag in ticket.get("tags") or [] if isinstance(tag, str | int)]
        wanted = {tag.lower() for tag in self.config.tags}
        if wanted and not wanted & {tag.lower() for tag in tags}:
            return None
        try:
            created = parse_timestamp(ticket.get("created_at"))
            updated = parse_timestamp(ticket.get("updated_at") or ticket.get("created_at"))
        except ValueError as exc:
            self.skip(where, f"ticket {ticket_id}: {exc}")
            return None
        return self._signal(ticket, ticket_id, tags, created, max(updated, created))

    def _signal(self, ticket: Mapping[str, Any], ticket_id: int, tags: list[str], created: Any, updated: Any) -> Signal:
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
            updated_at=updated,
            tags=guess_tags(title, text),
        )

    def _agent_url(self, ticket: Mapping[str, Any], ticket_id: int) -> str | None:
        """`https://<sub>.zendesk.com/agent/tickets/<id>`: host from ZENDESK_URL, else from the ticket's API url."""
        if self.config.url:
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
        if isinstance(org_id, int):
            self._orgless += 1
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
        sender = dig(
            via,
            (
                "source",
                "from",
                "address",
            ),
        )
        return sender if isinstance(sender, str) else None


def _email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower()
    return None if not domain or domain in WEBMAIL_DOMAINS else domain


def _is_admin(body: Any) -> tuple[bool, str, str]:
    role = ((body or {}).get("user") or {}).get("role") if isinstance(body, dict) else None
    if role == "admin":
        return True, "authenticated as an admin (incremental export allowed)", ""
    return False, f"authenticated, role {role!r}", "incremental export needs an admin: use an admin's API token"


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _ticket_where(ticket: Any, base_url: str, index: int) -> str:
    if isinstance(ticket, dict):
        if isinstance(ticket.get("url"), str):
            return str(ticket["url"])
        if ticket.get("id") is not None:
            return f"{base_url}/api/v2/tickets/{ticket['id']}.json"
    return f"{base_url}{ZendeskConnector.export_endpoint} (ticket #{index + 1} of the page)"


__all__ = ["ZendeskConfig", "ZendeskConnector", "zendesk_base_url"]
