"""Replay real Notion recordings against the sandbox: same status, same keys, same JSON value types.

Rules of the comparison (the only tolerances, each because Notion itself varies there):
- list length is data, not shape: an empty list on one side matches any list; when both sides have elements,
  every element on each side must have the shape of some element on the other side;
- numbers are numbers (Notion writes 3 and 3.0 alike);
- nothing else: `null` against a string, or a missing/extra key, is a mismatch.
IDs of objects created earlier in a cassette are mapped to the sandbox's ids as the replay goes (recorded
response ids -> sandbox ids); ids never seen (the recording workspace's own pages) map to the sandbox's root page.
The recorded token (`ntn_...`) is replaced by the sandbox token, except where Notion answered 401: those requests
were made with a deliberately invalid token (hidden by the redaction), so they are replayed with a wrong one.
The recordings are 2025-09-03 exchanges; they are also replayed under 2026-03-11 and 2026-12-01 with the one
documented difference they touch applied to both sides (`archived` sent as `in_trash`, and absent from answers).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from service.sandbox import Sandbox
from tests import REPO_ROOT

REPO = REPO_ROOT
CASSETTE_DIRS = [REPO / "tests" / "cassettes" / "notion", REPO.parent / "shared" / "notion-cassettes"]
UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
TOKEN = "sandbox-test-token"
RECORDED_VERSION = "2025-09-03"
NEWER_VERSIONS = ["2026-03-11", "2026-12-01"]
TRASHABLE = {"page", "database", "block", "data_source"}


def _cassettes() -> list[Path]:
    """Every cassette file, deduplicated by content (the shared directory usually holds the same files)."""
    seen: set[str] = set()
    found: list[Path] = []
    for directory in CASSETTE_DIRS:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.yaml")):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                found.append(path)
    return found


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


def shape_problems(ours: Any, recorded: Any, where: str = "$") -> list[str]:
    """Differences in shape between our JSON value and the recorded one (empty list: same shape)."""
    if _kind(ours) != _kind(recorded):
        return [f"{where}: sandbox has {_kind(ours)}, Notion has {_kind(recorded)}"]
    if isinstance(ours, dict):
        problems = [f"{where}: missing key {key!r}" for key in recorded.keys() - ours.keys()]
        problems += [f"{where}: extra key {key!r}" for key in ours.keys() - recorded.keys()]
        for key in ours.keys() & recorded.keys():
            problems += shape_problems(ours[key], recorded[key], f"{where}.{key}")
        return problems
    if isinstance(ours, list) and ours and recorded:
        problems = []
        for index, item in enumerate(ours):
            if all(shape_problems(item, other, where) for other in recorded):
                problems += [f"{where}[{index}]: no recorded element of this shape"]
                problems += shape_problems(item, recorded[0], f"{where}[{index}]")
        for index, other in enumerate(recorded):
            if all(shape_problems(item, other, where) for item in ours):
                problems.append(f"{where}: recorded element {index} has no counterpart in the sandbox answer")
        return problems
    return []


def _learn_ids(ours: Any, recorded: Any, ids: dict[str, str]) -> None:
    """Walk both answers together; every recorded uuid at a spot where we answered a uuid maps to ours."""
    if isinstance(ours, dict) and isinstance(recorded, dict):
        for key in ours.keys() & recorded.keys():
            _learn_ids(ours[key], recorded[key], ids)
    elif isinstance(ours, list) and isinstance(recorded, list):
        for mine, theirs in zip(ours, recorded, strict=False):
            _learn_ids(mine, theirs, ids)
    elif isinstance(ours, str) and isinstance(recorded, str) and UUID.fullmatch(recorded) and UUID.fullmatch(ours):
        ids.setdefault(recorded.replace("-", "").lower(), ours)


@dataclass
class Replay:
    name: str
    total: int = 0
    matched: int = 0
    problems: list[str] = field(default_factory=list)


def as_version(request_body: str, recorded: Any, version: str) -> tuple[str, Any]:
    """A recorded exchange as it would be under `version`: `archived` renamed in the request, gone from answers."""
    if version == RECORDED_VERSION:
        return request_body, recorded
    if request_body.strip():
        sent = json.loads(request_body)
        if isinstance(sent, dict) and "archived" in sent:
            sent["in_trash"] = sent.pop("archived")
        request_body = json.dumps(sent)
    for item in [recorded, *(recorded.get("results") or [])]:
        if isinstance(item, dict) and item.get("object") in TRASHABLE:
            item.pop("archived", None)
    return request_body, recorded


def replay(path: Path, tmp: Path, version: str = RECORDED_VERSION) -> Replay:
    """Send every recorded request of one cassette to a fresh sandbox and compare the answers' shapes."""
    sandbox = Sandbox(tmp / f"{path.stem}-{version}.sqlite3", token=TOKEN)
    ids: dict[str, str] = {}

    def map_ids(text: str) -> str:
        return UUID.sub(lambda m: ids.get(m.group(0).replace("-", "").lower(), sandbox.root_page_id), text)

    result = Replay(path.name)
    try:
        for index, interaction in enumerate(yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]):
            request, response = interaction["request"], interaction["response"]
            status = response["status"]["code"]
            url = urlsplit(map_ids(request["uri"]))
            token = "not-the-sandbox-token" if status == 401 else TOKEN
            headers = {"Authorization": f"Bearer {token}", "Notion-Version": version}
            sent, recorded = as_version(map_ids(request["body"] or ""), json.loads(response["body"]["string"]), version)
            our_status, _, data = sandbox.handle(request["method"], url.path, url.query, headers, sent.encode("utf-8"))
            ours = json.loads(data)
            problems = [] if our_status == status else [f"status {our_status}, Notion answered {status}"]
            problems += shape_problems(ours, recorded)
            result.total += 1
            if problems:
                label = f"{path.name}#{index} {request['method']} {urlsplit(request['uri']).path}"
                result.problems += [f"{label}: {problem}" for problem in problems]
            else:
                result.matched += 1
            _learn_ids(ours, recorded, ids)
    finally:
        sandbox.close()
    return result


CASSETTES = _cassettes()


def test_cassettes_are_present() -> None:
    names = {path.name for path in CASSETTES}
    assert {"pages_create.yaml", "data_sources_query.yaml", "users_me.yaml"} <= names


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sandbox_answers_with_notions_shapes(path: Path, tmp_path: Path) -> None:
    result = replay(path, tmp_path)
    assert result.total > 0
    assert result.problems == []


def test_every_recorded_interaction_matches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = [replay(path, tmp_path) for path in CASSETTES]
    total = sum(r.total for r in results)
    matched = sum(r.matched for r in results)
    with capsys.disabled():
        print(f"\nsandbox vs recorded Notion shapes: {matched}/{total} interactions match ({matched / total:.0%})")
    assert matched == total, [problem for r in results for problem in r.problems]


@pytest.mark.parametrize("version", NEWER_VERSIONS)
def test_recordings_hold_under_newer_versions_but_for_archived(version: str, tmp_path: Path) -> None:
    results = [replay(path, tmp_path, version) for path in CASSETTES]
    assert sum(r.total for r in results) > 0
    assert [problem for r in results for problem in r.problems] == []


def test_newer_versions_really_differ_from_the_recordings(tmp_path: Path) -> None:
    """Without the `archived` rule applied to the recordings, a newer version's answers do not match them."""
    path = next(p for p in CASSETTES if p.name == "pages_create.yaml")
    sandbox = Sandbox(tmp_path / "strict.sqlite3", token=TOKEN)
    try:
        interaction = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"][0]
        body = interaction["request"]["body"].replace("393abc1eedcd80f3813be205934558c6", sandbox.root_page_id)
        headers = {"Authorization": f"Bearer {TOKEN}", "Notion-Version": NEWER_VERSIONS[0]}
        _, _, data = sandbox.handle("POST", "/v1/pages", "", headers, body.encode("utf-8"))
    finally:
        sandbox.close()
    recorded = json.loads(interaction["response"]["body"]["string"])
    assert shape_problems(json.loads(data), recorded) == ["$: missing key 'archived'"]


def test_shape_comparison_catches_differences() -> None:
    recorded = {"a": [{"id": "x", "n": 1}], "b": None, "c": "s"}
    assert shape_problems({"a": [], "b": None, "c": "t"}, recorded) == []
    assert shape_problems({"a": [{"id": "y", "n": 2.5}], "b": None, "c": "t"}, recorded) == []
    assert shape_problems({"a": [{"id": "y"}], "b": None, "c": "t"}, recorded)
    assert shape_problems({"a": [], "b": "oops", "c": "t"}, recorded) == ["$.b: sandbox has str, Notion has null"]
    assert shape_problems({"a": [], "b": None, "c": "t", "d": 1}, recorded) == ["$: extra key 'd'"]
