"""Lost deals in the mapping: Deal Amount is written for deals only, and read back with the deal's tags."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from connectors.signal import Signal, SourceName
from scoring.policy import Policy
from service.notion import Row, content_hash
from service.notion.codecs import encode_properties
from service.notion.schema import BY_NAME
from service.pipelines.mapping import row_to_candidate, signal_to_write

WHEN = datetime(2026, 11, 2, tzinfo=UTC)


def signal(**fields: Any) -> Signal:
    values: dict[str, Any] = {
        "source": SourceName.G2,
        "external_id": "1",
        "title": "Latency is too high",
        "text": "Calls lag by a second",
        "customer": "Hooli",
        "created_at": WHEN,
        "updated_at": WHEN,
        "url": "https://www.g2.com/r/1",
    }
    values.update(fields)
    return Signal(**values)


def encoded(properties: dict[str, Any]) -> dict[str, Any]:
    return encode_properties(properties, {name: BY_NAME[name].type for name in properties})


def row(**values: Any) -> Row:
    return Row(
        page_id="p1",
        url="https://notion.so/p1",
        created_time=WHEN,
        last_edited_time=WHEN,
        last_edited_by=None,
        values=values,
    )


def lost_deal() -> Signal:
    return signal(
        source=SourceName.SALESFORCE,
        external_id="0068c00001XyZaBAAV",
        title="Lost to PolyAI: first-response latency",
        text="Lost deal Hooli - Support Line (Hooli): latency\nAmount: $240,000 · Close date: 2026-11-06",
        url=None,
        amount=240_000.0,
        probability=0.0,
        close_date=date(2026, 11, 6),
        tags=("competitive-loss", "lost-deal"),
    )


def test_a_lost_deal_writes_its_amount_and_keeps_the_excerpt() -> None:
    properties = signal_to_write(lost_deal(), Policy(), scrub=True).properties
    assert properties["Deal Amount"] == 240_000.0
    assert "Amount: $240,000" in properties["Excerpt"]
    assert (BY_NAME["Deal Amount"].type, BY_NAME["Deal Amount"].writer) == ("number", "sync")


def test_rows_without_an_amount_keep_their_properties_and_content_hash() -> None:
    """Adding Deal Amount must not rewrite every existing row: the hash of a non-deal row is what it was."""
    properties = signal_to_write(signal(), Policy(), scrub=True).properties
    assert "Deal Amount" not in properties
    assert content_hash(encoded(properties)) == "b5b7283d14f5f50b"  # pinned on the code before Deal Amount
    deal_without_amount = signal_to_write(lost_deal().model_copy(update={"amount": None}), Policy(), scrub=True)
    assert "Deal Amount" not in deal_without_amount.properties


def test_a_salesforce_row_reads_back_as_a_tagged_deal_with_its_amount() -> None:
    deal = row_to_candidate(row(Name="Lost deal: latency", Source="Salesforce", **{"Deal Amount": 240000}))
    assert deal.deal_amount == 240_000.0
    assert set(deal.tags) == {"competitive-loss", "lost-deal"}  # by its Source, not by a keyword


def test_other_rows_read_back_untagged_even_when_their_text_says_lost_deal() -> None:
    other = row_to_candidate(row(Name="We lost a deal over this", Source="Zendesk", Excerpt="lost deal"))
    assert (other.deal_amount, other.tags) == (None, ())
