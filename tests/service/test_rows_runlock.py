"""Row translations (PII scrub, segments, excerpt cut) and the one-run-per-host lock."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.signal import KindHint, Signal, SourceName
from scoring.policy import Policy, Segments
from service.app.runlock import RunLock, RunLockHeldError
from service.pipelines.mapping import EXCERPT_LIMIT, excerpt, scrub_pii, segment_for, signal_to_write
from tests import REPO_ROOT

POLICY = Policy(
    segments=Segments(
        enterprise_pilots=["Acme Health"], trials=["Hooli"], free=["Bluth Company"], internal_domains=["wavelength.ai"]
    )
)


def test_scrub_pii_removes_emails_and_phones_but_not_ids() -> None:
    text = "Call me at +1 (415) 555-0199 or jane.doe@acme.com; see ticket #12345 and build 2026.11.20"
    scrubbed = scrub_pii(text)
    assert "jane.doe@acme.com" not in scrubbed
    assert "555-0199" not in scrubbed
    assert "[email]" in scrubbed
    assert "[phone]" in scrubbed
    assert "#12345" in scrubbed


def test_excerpt_is_cut_with_a_link_to_the_rest() -> None:
    long = "word " * 1000
    cut = excerpt(long, "https://acme.zendesk.com/agent/tickets/1", scrub=True)
    assert len(cut) <= EXCERPT_LIMIT
    assert cut.endswith("(full text: https://acme.zendesk.com/agent/tickets/1)")
    assert excerpt("short", None, scrub=True) == "short"


@pytest.mark.parametrize(
    ("customer", "segment"),
    [
        ("Acme Health", "Enterprise pilot"),
        ("acme health", "Enterprise pilot"),
        ("Hooli", "Trial"),
        ("Bluth Company", "Free"),
        ("amir@wavelength.ai", "Internal"),
        ("wavelength.ai", "Internal"),
        ("Someone Else", "Unknown"),
        (None, "Unknown"),
    ],
)
def test_segment_for(customer: str | None, segment: str) -> None:
    assert segment_for(customer, POLICY) == segment


def test_signal_to_write_sets_status_and_type_only_on_create() -> None:
    when = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    signal = Signal(
        source=SourceName.ZENDESK,
        external_id="35436",
        url="https://acme.zendesk.com/agent/tickets/35436",
        title="Latency is too high",
        text="Reach me at pat@acme.com",
        customer="Acme Health",
        kind_hint=KindHint.BUG,
        created_at=when,
        updated_at=when,
    )
    write = signal_to_write(signal, POLICY, scrub=True)
    assert write.source_key == "zendesk:35436"
    assert write.properties["Segment"] == "Enterprise pilot"
    assert write.properties["Source"] == "Zendesk"
    assert "pat@acme.com" not in write.properties["Excerpt"]
    assert write.create_only == {"Status": "New", "Type": "Bug"}
    assert "Status" not in write.properties
    assert "Reach" not in write.properties


def test_run_lock_excludes_a_second_holder(tmp_path: Path) -> None:
    path = tmp_path / "run.lock"
    first = RunLock(path)
    first.acquire()
    with pytest.raises(RunLockHeldError, match="another `backlog run` is in progress"):
        RunLock(path).acquire()
    first.release()
    second = RunLock(path)
    second.acquire()
    second.release()


def test_run_lock_is_released_when_the_holder_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "run.lock"
    code = (
        "import sys, time; from pathlib import Path; from service.app.runlock import RunLock;"
        f"lock = RunLock(Path({str(path)!r})); lock.acquire(); print('held', flush=True); time.sleep(60)"
    )
    root = REPO_ROOT
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(RunLockHeldError):
            RunLock(path).acquire()
        proc.kill()
        proc.wait(timeout=10)
        lock = RunLock(path)
        lock.acquire()  # the kernel released the dead holder's lock
        lock.release()
    finally:
        proc.kill()
