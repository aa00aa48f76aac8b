"""Shared text helpers: HTML to text, titles, kind/tag guesses and timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.signal import KindHint
from connectors.text import first_line, guess_kind, guess_tags, html_to_text, parse_id, parse_timestamp, parse_votes


def test_html_to_text_keeps_paragraphs_and_drops_markup() -> None:
    html = (
        "<p>Hi&nbsp;<b>team</b>,</p><p>Latency   is &gt; 1s<br>on calls</p>"
        "<ul><li>EU</li><li>US</li></ul><script>x()</script>"
    )
    assert html_to_text(html) == "Hi team,\n\nLatency is > 1s\non calls\n\n- EU\n- US"


def test_html_to_text_on_plain_text_only_normalises() -> None:
    assert html_to_text("  a  &amp;  b \r\n\r\n\r\n\r\nc  ") == "a & b\n\nc"


def test_first_line_skips_blank_lines_and_cuts_at_a_word() -> None:
    assert first_line("\n\n   Spanish voices please  \nmore") == "Spanish voices please"
    cut = first_line("word " * 100, limit=50)
    assert len(cut) <= 50
    assert cut.endswith("word…")
    assert first_line("") == ""


@pytest.mark.parametrize(
    ("texts", "labels", "expected"),
    [
        (("The SDK crashes on reconnect",), (), KindHint.BUG),
        (("Webhook deliveries failing since Tuesday",), (), KindHint.BUG),
        (("Add a debug mode to the console",), (), KindHint.FEATURE),  # "debug" is not "bug"
        (("anything",), ("type: Bug",), KindHint.BUG),
        (("anything",), ("tech-debt",), KindHint.TECH_DEBT),
        (("anything",), ("on-call",), KindHint.RELIABILITY),
        (("anything",), ("SOC2",), KindHint.COMPLIANCE),
        (("it crashes when I ask for it",), ("feature-request",), KindHint.FEATURE),  # labels are deliberate
        (("Custom wake word",), (), KindHint.FEATURE),
    ],
)
def test_guess_kind(texts: tuple[str, ...], labels: tuple[str, ...], expected: KindHint) -> None:
    assert guess_kind(*texts, labels=labels) is expected


def test_guess_tags() -> None:
    assert guess_tags("We went with Retell because of latency") == ("competitive-loss",)
    assert guess_tags("Lost the deal on price") == ("competitive-loss",)
    assert guess_tags("If this is not fixed we will cancel our subscription") == ("churn-risk",)
    assert guess_tags("Considering cancelling", "lost to Vapi") == ("competitive-loss", "churn-risk")
    assert guess_tags("Please add a cancel button to the call widget") == ()
    assert guess_tags("The retelling of the story") == ()


def test_parse_timestamp_forms() -> None:
    expected = datetime(2026, 11, 3, 19, 5, tzinfo=UTC)
    assert parse_timestamp("2026-11-03T19:05:00Z") == expected
    assert parse_timestamp("2026-11-03T14:05:00-05:00") == expected
    assert parse_timestamp("2026-11-03 19:05:00") == expected  # naive = UTC
    assert parse_timestamp(expected.timestamp()) == expected
    assert parse_timestamp(str(int(expected.timestamp()))) == expected
    with pytest.raises(ValueError, match="unparseable date 'Nov 3rd'"):
        parse_timestamp("Nov 3rd")
    with pytest.raises(ValueError, match="not a timestamp"):
        parse_timestamp(None)


def test_ids_and_counts_of_thousands_of_digits_are_refused_not_a_crash() -> None:
    """int() raises ValueError past 4,300 digits: one such cell used to fail the whole source's read."""
    assert parse_id("7" * 5000) is None
    assert parse_id("a" * 129) is None
    assert parse_id("a" * 128) == "a" * 128
    assert parse_id("35436") == "35436"
    votes, problem = parse_votes("9" * 5000)
    assert votes is None
    assert problem is not None
    assert parse_votes("42") == (42, None)
