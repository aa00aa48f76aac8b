"""The one export-file reader: every record with the `file:line` it starts on, so a bad row names its place.

Files are read as `utf-8-sig` (Excel and PowerShell write a BOM; it is not part of the first key) with any
line ending (CRLF included). Shapes: a JSON array, an object holding the array under a key, NDJSON (one record
per line), or CSV with a header row. A file that cannot be read is a `SourceConfigError` naming the setting;
a file that is not the documented shape is a `MalformedPayloadError` naming the file and line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.http.errors import MalformedPayloadError, SourceConfigError

Skip = Callable[[str, str], None]


def read_export_text(source: str, path: Path, setting: str) -> str:
    """The export file's text, or a `SourceConfigError` naming the setting when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SourceConfigError(source, f"{setting}={path} does not exist; fix the path or unset {setting}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceConfigError(source, f"{setting}={path} cannot be read as UTF-8 text ({exc})") from None


@dataclass
class ExportFile:
    """One configured export file of one source (`setting` is the env name that points at it)."""

    source: str
    path: Path
    setting: str
    _text: str | None = field(default=None, init=False, repr=False)

    def text(self) -> str:
        if self._text is None:
            self._text = read_export_text(self.source, self.path, self.setting)
        return self._text

    def json(self, expected: str) -> Any:
        """The whole document; invalid JSON names the line and what was expected."""
        try:
            return json.loads(self.text())
        except json.JSONDecodeError as exc:
            raise self.malformed(f"not valid JSON ({exc.msg}); expected {expected}", exc.lineno) from None

    def malformed(self, detail: str, line: int | None = None) -> MalformedPayloadError:
        """The file is not the documented shape: the message names the file (and line) and what was expected."""
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        return MalformedPayloadError(self.source, f"{where}: {detail}")

    def records(
        self, key: str | None, expected: str, *, label: str = "item", skip: Skip | None = None
    ) -> Iterator[tuple[str, Any]]:
        """(where, record) of a JSON array, of the array under `key`, or (when `skip` is given) of NDJSON lines."""
        text = self.text()
        try:
            located = json_records(text, key)
        except json.JSONDecodeError as whole_error:
            if skip is None or not _looks_like_ndjson(text):
                detail = f"not valid JSON ({whole_error.msg}); expected {expected}"
                raise self.malformed(detail, whole_error.lineno) from None
            yield from self._ndjson(text, skip)
            return
        if located is None:
            found = type(json.loads(text)).__name__
            raise self.malformed(f"expected {expected}, found a JSON {found} without it")
        per_line = Counter(line for line, _ in located)
        for index, (line, item) in enumerate(located):
            if line is None:
                yield f"{self.path}:{label} {index + 1}", item
            elif per_line[line] > 1:  # several records on one line (`json.dumps` output): say which
                yield f"{self.path}:{line} {label} {index + 1}", item
            else:
                yield f"{self.path}:{line}", item

    def _ndjson(self, text: str, skip: Skip) -> Iterator[tuple[str, Any]]:
        for line, item in ndjson_records(text):
            if isinstance(item, json.JSONDecodeError):
                skip(f"{self.path}:{line}", f"not valid JSON ({item.msg} at column {item.colno})")
                continue
            yield f"{self.path}:{line}", item

    def csv_rows(self) -> Iterator[tuple[str, dict[str, str]]]:
        """(where, row) for each CSV data row; keys are `header_key`s."""
        for line, row in csv_text_records(self.text()):
            yield f"{self.path}:{line}", row


def _looks_like_ndjson(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        return isinstance(json.loads(first), dict)
    except json.JSONDecodeError:
        return False


def header_key(name: str) -> str:
    """A CSV header as a lookup key: `What do you like best?` -> `what do you like best`."""
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def csv_text_records(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for each CSV data row; keys are `header_key`s, values stripped ("" when the cell is missing).

    The line is where the record starts in the file (header = line 1), also for quoted multi-line cells.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = next(reader, None)
    if header is None:
        return
    keys = [header_key(name) for name in header]
    previous_end = reader.line_num
    for cells in reader:
        start, previous_end = previous_end + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        yield start, {key: (cells[i].strip() if i < len(cells) else "") for i, key in enumerate(keys) if key}


def csv_records(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """`csv_text_records` of a file read as utf-8-sig."""
    yield from csv_text_records(path.read_text(encoding="utf-8-sig"))


def json_records(text: str, key: str | None) -> list[tuple[int | None, Any]] | None:
    """(line, item) for each element of a top-level JSON array, or of the array under the top-level `key`.

    None when the document has neither shape. Raises `json.JSONDecodeError` for invalid JSON. Lines are
    None only if they cannot be located (the items are still returned).
    """
    whole = json.loads(text)
    if isinstance(whole, list):
        items, match = whole, re.search(r"\[", text)
    elif key is not None and isinstance(whole, dict) and isinstance(whole.get(key), list):
        items, match = whole[key], re.search(r'"' + re.escape(key) + r'"\s*:\s*\[', text)
    else:
        return None
    located = _locate_items(text, match.end() if match else -1)
    if located is not None and len(located) == len(items):
        return located
    return [(None, item) for item in items]


def _locate_items(text: str, pos: int) -> list[tuple[int | None, Any]] | None:
    """Decode array elements one by one from just after `[`, noting each element's starting line."""
    if pos < 0:
        return None
    decoder = json.JSONDecoder()
    separators = re.compile(r"[\s,]*")
    located: list[tuple[int | None, Any]] = []
    line, counted_to = 1, 0
    try:
        while True:
            pos = separators.match(text, pos).end()  # type: ignore[union-attr]  # "*" always matches
            if pos >= len(text) or text[pos] == "]":
                return located
            line += text.count("\n", counted_to, pos)
            counted_to = pos
            item, pos = decoder.raw_decode(text, pos)
            located.append((line, item))
    except json.JSONDecodeError:
        return None


def ndjson_records(text: str) -> Iterator[tuple[int, Any | json.JSONDecodeError]]:
    """(line, item) for each non-empty line; a line that is not JSON yields its decode error instead."""
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw)
        except json.JSONDecodeError as exc:
            yield number, exc


__all__ = [
    "ExportFile",
    "csv_records",
    "csv_text_records",
    "header_key",
    "json_records",
    "ndjson_records",
    "read_export_text",
]
