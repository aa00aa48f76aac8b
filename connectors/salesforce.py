"""Salesforce: deals lost to a reason the product can fix (closed, not won), via SOQL on the REST query endpoint
(`nextRecordsUrl` until `done`), or a Salesforce report of lost opportunities exported as CSV.

A lost deal is evidence, not an ask: the row says what the deal was worth and why it was lost, so the candidate
it is merged into gets the policy's competitive-loss boost and the summary can quote the money ("lost 3 deals
worth $420k to latency"). Amount, Probability and Close Date are in the Excerpt and on the Signal. Every org names
its loss-reason field differently, hence SALESFORCE_LOSS_REASON_FIELD.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any, ClassVar

from pydantic import SecretStr

from connectors.base import Connector, Credentials, Probe, ProbeResult, SourceConfig
from connectors.cursor import Window
from connectors.exports import ExportFile, header_key
from connectors.http import NextURLPaginator, PageRequest, SourceConfigError
from connectors.signal import Signal, SourceName
from connectors.text import first_line, guess_tags, normalize_whitespace
from connectors.tracker import sheet_date

LOST_TAGS = ("competitive-loss", "lost-deal")
OPPORTUNITY_FIELDS = (
    "Id",
    "Name",
    "Account.Name",
    "StageName",
    "Amount",
    "Probability",
    "CloseDate",
    "CreatedDate",
    "LastModifiedDate",
    "Description",
)
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_VERSION = re.compile(r"^v\d+\.\d$")
_MONEY = re.compile(r"[^\d.\-]")


@dataclass(frozen=True, kw_only=True)
class SalesforceConfig(SourceConfig):
    """SALESFORCE_* settings; `api_url` is the instance URL (https://acme.my.salesforce.com)."""

    access_token: SecretStr | None = None
    api_version: str = "v61.0"
    loss_reason_field: str = "Loss_Reason__c"


def id18(record_id: str) -> str:
    """A 15-character record id (what reports show) as its 18-character form (what the API returns), so the same
    deal read from a report and from the API has one Source Key. Other ids are returned unchanged."""
    if len(record_id) != 15 or not record_id.isalnum():
        return record_id
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for start in (0, 5, 10):
        chunk = record_id[start : start + 5]
        suffix += alphabet[sum(1 << bit for bit, char in enumerate(chunk) if "A" <= char <= "Z")]
    return record_id + suffix


def money(amount: float | None) -> str:
    """`120000.0` -> `$120,000`; None -> `amount unknown`."""
    return f"${amount:,.0f}" if amount is not None else "amount unknown"


class SalesforceConnector(Connector):
    """Opportunities with `IsClosed = true AND IsWon = false`, modified in the window -> lost-deal signals."""

    config: SalesforceConfig
    source = SourceName.SALESFORCE
    enable_hint = "set SALESFORCE_INSTANCE_URL and SALESFORCE_ACCESS_TOKEN, or SALESFORCE_EXPORT_PATH (report CSV)"
    base_url_setting = "SALESFORCE_INSTANCE_URL"
    export_setting = "SALESFORCE_EXPORT_PATH"
    setting_hints: ClassVar[Mapping[int, str]] = {
        400: "Check SALESFORCE_LOSS_REASON_FIELD: it must be the API name of an Opportunity field (Setup > Object"
        " Manager > Opportunity > Fields & Relationships), e.g. Loss_Reason__c",
        401: "Check SALESFORCE_ACCESS_TOKEN: the session is expired or invalid (get a new OAuth access token)",
        403: "The SALESFORCE_ACCESS_TOKEN's user lacks 'API Enabled' or read access to Opportunities",
        404: "Check SALESFORCE_INSTANCE_URL (https://<my domain>.my.salesforce.com) and SALESFORCE_API_VERSION",
    }
    paginator = NextURLPaginator(token_path=("nextRecordsUrl",), stop_when=("done",))
    records_path = ("records",)
    records_expected = "a SOQL query result with a `records` array"
    cursor_field = "updated_at"

    def api_configured(self) -> bool:
        token = self.config.access_token
        return token is not None and bool(token.get_secret_value()) and bool(self.config.api_url)

    def credentials(self) -> Credentials:
        token = self.config.access_token
        if token is None:
            raise SourceConfigError(self.source.value, "SALESFORCE_ACCESS_TOKEN is not set")
        return {"Authorization": f"Bearer {token.get_secret_value()}", "Accept": "application/json"}, None

    # --- live API ---------------------------------------------------------------------------------------------

    @property
    def query_path(self) -> str:
        version = self.config.api_version
        if not _VERSION.match(version):
            raise SourceConfigError(self.source.value, f"SALESFORCE_API_VERSION={version!r} is not like v61.0")
        return f"/services/data/{version}/query"

    def soql(self, window: Window) -> str:
        """The SOQL of lost deals; the loss-reason field is checked first (it is pasted into the query)."""
        field = self.config.loss_reason_field
        if not _API_NAME.match(field):
            raise SourceConfigError(
                self.source.value,
                f"SALESFORCE_LOSS_REASON_FIELD={field!r} is not a field API name"
                " (letters, digits and _, e.g. Loss_Reason__c)",
            )
        where = "IsClosed = true AND IsWon = false"
        if window.first is not None:
            where += f" AND LastModifiedDate >= {window.first.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
        columns = ", ".join((*OPPORTUNITY_FIELDS, field))
        # The only pasted values are the field (checked against _API_NAME above) and a formatted datetime.
        return f"SELECT {columns} FROM Opportunity WHERE {where} ORDER BY LastModifiedDate ASC"  # noqa: S608

    def first_request(self, target: str, window: Window) -> PageRequest:
        return PageRequest(url=self.query_path, params={"q": self.soql(window)})

    def where(self, target: str, page: int, index: int, record: Any) -> str:
        rid = record.get("Id") if isinstance(record, dict) else None
        return f"{self.config.api_url}{self.query_path} page {page} opportunity {rid or f'#{index + 1}'}"

    def to_signal(self, record: Any, where: str) -> Signal | None:
        if not isinstance(record, dict):
            self.skip(where, f"expected an Opportunity record, got {type(record).__name__}")
            return None
        account = record.get("Account") if isinstance(record.get("Account"), dict) else {}
        return self._build(
            where,
            opportunity_id=record.get("Id"),
            name=record.get("Name"),
            account=(account or {}).get("Name"),
            stage=record.get("StageName"),
            reason=record.get(self.config.loss_reason_field),
            description=record.get("Description"),
            amount=record.get("Amount"),
            probability=record.get("Probability"),
            close_date=record.get("CloseDate"),
            created=record.get("CreatedDate"),
            updated=record.get("LastModifiedDate"),
        )

    # --- export file ------------------------------------------------------------------------------------------

    def export_records(self, export: ExportFile) -> Iterator[tuple[str, Any]]:
        """A report exported as CSV (Details Only): its real headers, e.g. "Opportunity ID", "Close Date"."""
        for where, row in export.csv_rows():
            if not row.get("opportunity id") and not row.get("opportunity name") and "opportunity id" in row:
                continue  # the report's totals and its footer (Copyright, Confidential, Generated By)
            if "opportunity id" not in row:
                raise export.malformed(
                    "no `Opportunity ID` column in the header; add it to the report's columns (Opportunity ID,"
                    " Opportunity Name, Account Name, Stage, Amount, Close Date and the loss-reason field) and"
                    " export Details Only as CSV",
                    1,
                )
            yield where, row

    def export_signal(self, record: Any, where: str) -> Signal | None:
        row: Mapping[str, str] = record
        reason_key = header_key(self.config.loss_reason_field.removesuffix("__c").replace("_", " "))
        close = row.get("close date", "")
        return self._build(
            where,
            opportunity_id=row.get("opportunity id"),
            name=row.get("opportunity name"),
            account=row.get("account name"),
            stage=row.get("stage"),
            reason=row.get(reason_key) or row.get("loss reason") or row.get("closed lost reason"),
            description=row.get("description"),
            amount=row.get("amount"),
            probability=row.get("probability") or row.get("probability %"),
            close_date=close,
            created=row.get("created date") or close,
            updated=row.get("last modified date") or row.get("last modified") or close,
        )

    # --- doctor -----------------------------------------------------------------------------------------------

    def incomplete(self) -> ProbeResult | None:
        token = self.config.access_token
        if token is not None and token.get_secret_value() and not self.config.api_url:
            fix = "set SALESFORCE_INSTANCE_URL to your My Domain URL, e.g. https://acme.my.salesforce.com"
            return ProbeResult(
                "instance", False, "SALESFORCE_ACCESS_TOKEN set but SALESFORCE_INSTANCE_URL missing", fix
            )
        return None

    def probes(self) -> list[Probe]:
        limits = f"/services/data/{self.config.api_version}/limits"
        return [Probe("token + API version", limits, "check SALESFORCE_ACCESS_TOKEN and SALESFORCE_API_VERSION")]

    # --- one lost deal ----------------------------------------------------------------------------------------

    def _build(
        self,
        where: str,
        *,
        opportunity_id: Any,
        name: Any,
        account: Any,
        stage: Any,
        reason: Any,
        description: Any,
        amount: Any,
        probability: Any,
        close_date: Any,
        created: Any,
        updated: Any,
    ) -> Signal | None:
        """The one place a lost deal becomes a signal, so the API and the report CSV cannot drift apart."""
        oid = id18(str(opportunity_id or "").strip())
        if not oid:
            self.skip(where, "opportunity has no Id")
            return None
        try:
            value, chance = _number(amount, "Amount"), _number(probability, "Probability")
            closed = sheet_date(close_date).date() if close_date else None
            created_at = sheet_date(created)
            updated_at = max(created_at, sheet_date(updated)) if updated else created_at
        except ValueError as exc:
            self.skip(where, f"opportunity {oid}: {exc}")
            return None
        why = normalize_whitespace(str(reason or ""))
        deal = str(name or "").strip() or f"Opportunity {oid}"
        text = _excerpt(deal, str(account or "").strip(), why, value, chance, closed, str(stage or "").strip())
        notes = normalize_whitespace(str(description or ""))
        return Signal(
            source=self.source,
            external_id=oid,
            url=f"{self.config.api_url}/lightning/r/Opportunity/{oid}/view" if self.config.api_url else None,
            title=_title(why, deal),
            text="\n".join(part for part in (text, notes) if part),
            customer=str(account or "").strip() or None,
            kind_hint=None,
            amount=value,
            probability=chance,
            close_date=closed,
            created_at=created_at,
            updated_at=updated_at,
            tags=tuple(dict.fromkeys((*LOST_TAGS, *guess_tags(why, notes)))),
        )


def _title(why: str, deal: str) -> str:
    """`Lost deal: <reason>`; a reason that already says "lost ..." stands alone."""
    if not why:
        return f"Lost deal: {deal}"
    reason = first_line(why, 160)
    return reason if reason.lower().startswith("lost") else f"Lost deal: {reason}"


def _excerpt(
    deal: str, account: str, why: str, amount: float | None, chance: float | None, closed: date | None, stage: str
) -> str:
    """`Lost deal Acme Health - Voice pilot (Acme Health): latency` + one line of numbers."""
    head = f"Lost deal {deal}" + (f" ({account})" if account else "") + (f": {why}" if why else "")
    numbers = [
        f"Amount: {money(amount)}",
        f"Probability: {chance:g}%" if chance is not None else "",
        f"Close date: {closed.isoformat()}" if closed else "",
        f"Stage: {stage}" if stage else "",
    ]
    return head + "\n" + " · ".join(part for part in numbers if part)


def _number(value: Any, what: str) -> float | None:
    """A Salesforce number, or a report cell such as `USD 120,000.00` / `$120,000` / `10%`; None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    cleaned = _MONEY.sub("", str(value))
    try:
        return float(cleaned)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a number") from None


__all__ = ["LOST_TAGS", "SalesforceConfig", "SalesforceConnector", "id18", "money"]
