"""The one export-file reader: every record with the `file:line` it starts on, so a bad row names its place.

Hostile files are the norm (Excel, PowerShell, hand edits), so the reader refuses what is not a regular file
before opening it (a FIFO would block forever), sniffs the encoding (UTF-8 with or without BOM, UTF-16 with a
BOM, else Latin-1 with one notice), reads `gh api --paginate` output (arrays back to back), turns every parser
exception (RecursionError, csv.Error, ...) into a file or row problem, and lifts the CSV field limit (a review
can be longer than 128 KB). Shapes: a JSON array, an object holding the array under a key, NDJSON (one record
per line), or CSV with a header row. A file that cannot be read is a `SourceConfigError` naming the setting;
a file that is not the documented shape is a `MalformedPayloadError` naming the file and line.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import stat
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.http.errors import MalformedPayloadError, SourceConfigError

Skip = Callable[[str, str], None]
Notice = Callable[[str], None]

CSV_FIELD_LIMIT = 1 << 30  # a cell may hold a pasted call log; Python's default (131072) crashes the read
_NOT_A_FILE = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def _refuse(source: str, setting: str, path: Path, why: str) -> SourceConfigError:
    return SourceConfigError(source, f"{setting}={path} {why}")


def read_export_bytes(source: str, path: Path, setting: str) -> bytes:
    """The file's bytes; anything but a readable regular file is refused at once (stat first: never a hang)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            raise _refuse(source, setting, path, "is a link to a file that does not exist; fix the link") from None
        raise _refuse(source, setting, path, f"does not exist; fix the path or unset {setting}") from None
    except OSError as exc:
        raise _refuse(source, setting, path, f"cannot be examined ({exc.strerror}); fix the path") from None
    if stat.S_ISDIR(mode):
        raise _refuse(source, setting, path, "is a directory; point it at the export file inside it")
    if not stat.S_ISREG(mode):
        kind = _NOT_A_FILE.get(stat.S_IFMT(mode), "not a regular file")
        raise _refuse(source, setting, path, f"is {kind}, not a file; save the export to a file and point at that")
    try:
        return path.read_bytes()
    except PermissionError:
        raise _refuse(source, setting, path, "cannot be read (permission denied); fix its permissions") from None
    except OSError as exc:
        raise _refuse(source, setting, path, f"cannot be read ({exc.strerror})") from None


def decode_export(data: bytes) -> tuple[str, str | None]:
    """(text, note): UTF-8 (BOM dropped), UTF-16 with a BOM, else Latin-1 with a note saying so."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError as exc:
            return data[2:].decode("latin-1"), f"has a UTF-16 BOM but is not UTF-16 ({exc.reason}); read as Latin-1"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        note = (
            f"is not UTF-8 (byte 0x{data[exc.start]:02x} on line {line}); read as Latin-1 (Windows-1252):"
            " check accented names, or re-save the file as UTF-8"
        )
        return data.decode("cp1252", errors="strict") if _is_cp1252(data) else data.decode("latin-1"), note


def _is_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def read_export_text(source: str, path: Path, setting: str) -> str:
    """The export file's text, or a `SourceConfigError` naming the setting when it cannot be read."""
    return decode_export(read_export_bytes(source, path, setting))[0]


@dataclass
class ExportFile:
    """One configured export file of one source (`setting` is the env name that points at it).

    `skip` receives row problems (where, why) and `notice` one-off file notes (the encoding guess); both
    default to collecting on the object so a caller without a connector still sees them.
    """

    source: str
    path: Path
    setting: str
    skip: Skip | None = None
    notice: Notice | None = None
    problems: list[tuple[str, str]] = field(default_factory=list, init=False, repr=False)
    notes: list[str] = field(default_factory=list, init=False, repr=False)
    _text: str | None = field(default=None, init=False, repr=False)

    def text(self) -> str:
        if self._text is None:
            text, note = decode_export(read_export_bytes(self.source, self.path, self.setting))
            if note:
                self.note(f"{self.path} {note}")
            self._text = text
        return self._text

    def note(self, message: str) -> None:
        self.notes.append(message)
        if self.notice is not None:
            self.notice(message)

    def problem(self, where: str, message: str) -> None:
        self.problems.append((where, message))
        if self.skip is not None:
            self.skip(where, message)

    def nonblank_text(self) -> str:
        """The text, or a file error when there is nothing in it (zero bytes, whitespace, a lone BOM, NULs)."""
        text = self.text()
        if not text.replace("\x00", "").strip():
            raise self.malformed("the file is empty; export again (the tool may have failed half way)")
        return text

    def json(self, expected: str) -> Any:
        """The whole document; invalid JSON names the line and what was expected."""
        text = self.nonblank_text()
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise self.malformed(f"not valid JSON ({exc.msg}); expected {expected}", exc.lineno) from None
        except RecursionError:
            raise self.malformed(f"JSON nested too deeply to be an export; expected {expected}") from None

    def malformed(self, detail: str, line: int | None = None) -> MalformedPayloadError:
        """The file is not the documented shape: the message names the file (and line) and what was expected."""
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        return MalformedPayloadError(self.source, f"{where}: {detail}")

    def records(
        self, key: str | None, expected: str, *, label: str = "item", skip: Skip | None = None
    ) -> Iterator[tuple[str, Any]]:
        """(where, record) of a JSON array (or arrays back to back), of the array under `key`, or of NDJSON."""
        if skip is not None and self.skip is None:
            self.skip = skip
        text = self.nonblank_text()
        try:
            located = json_records(text, key)
        except (json.JSONDecodeError, RecursionError) as whole_error:
            if not _looks_like_ndjson(text):
                raise self._invalid(whole_error, expected) from None
            yield from self._ndjson(text)
            return
        if located is None:
            raise self.malformed(f"expected {expected}, found {_found(text)}")
        per_line = Counter(line for line, _ in located)
        for index, (line, item) in enumerate(located):
            if line is None:
                yield f"{self.path}:{label} {index + 1}", item
            elif per_line[line] > 1:  # several records on one line (`json.dumps` output): say which
                yield f"{self.path}:{line} {label} {index + 1}", item
            else:
                yield f"{self.path}:{line}", item

    def _invalid(self, error: Exception, expected: str) -> MalformedPayloadError:
        if isinstance(error, json.JSONDecodeError):
            return self.malformed(f"not valid JSON ({error.msg}); expected {expected}", error.lineno)
        return self.malformed(f"JSON nested too deeply to be an export; expected {expected}")

    def _ndjson(self, text: str) -> Iterator[tuple[str, Any]]:
        for line, item in ndjson_records(text):
            if isinstance(item, json.JSONDecodeError):
                self.problem(f"{self.path}:{line}", f"not valid JSON ({item.msg} at column {item.colno}); fix the line")
                continue
            if isinstance(item, RecursionError):
                self.problem(f"{self.path}:{line}", "JSON nested too deeply; fix or remove the line")
                continue
            yield f"{self.path}:{line}", item

    def csv_rows(self, columns: Mapping[str, Sequence[str]] | None = None) -> Iterator[tuple[str, dict[str, str]]]:
        """(where, row) for each CSV data row; keys are `header_key`s (or the canonical names of `columns`).

        `columns` maps a canonical column to its accepted header spellings (compared as `header_key`s); when
        given, a header that matches none of them is one file error listing them, and the row keys are the
        canonical names. NULs are dropped (csv refuses them); a row that breaks the CSV grammar is a problem.
        """
        text = self.nonblank_text()
        if "\x00" in text:
            self.note(f"{self.path} contains NUL characters; they were removed")
            text = text.replace("\x00", "")
        reader = _CsvReader(text)
        header = reader.header()
        if header is None:
            return
        names = self._header_names(header, columns)
        width = len(header)
        for line, cells in reader.rows(self.path, self.problem):
            extra = [cell for cell in cells[width:] if cell.strip()]
            if extra:
                self.problem(
                    f"{self.path}:{line}",
                    f"row has {len(cells)} cells but the header has {width}: quote cells that contain a comma",
                )
                continue
            yield (
                f"{self.path}:{line}",
                {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(names) if name},
            )

    def _header_names(self, header: list[str], columns: Mapping[str, Sequence[str]] | None) -> list[str]:
        keys = [header_key(name) for name in header]
        if columns is None:
            return keys
        names: list[str] = []
        for key in keys:
            name = _canonical(key, columns)
            names.append(name if name and name not in names else "")
        if not any(names):
            accepted = "; ".join(f"{c}: {' / '.join(a)}" for c, a in columns.items())
            hint = " The header contains ';': re-export with ',' as the delimiter." if ";" in ",".join(header) else ""
            raise self.malformed(f"no known column in the header; expected {accepted}.{hint}", 1)
        return names


def _canonical(key: str, columns: Mapping[str, Sequence[str]]) -> str:
    """The canonical column a header key stands for ("" when none); an alias ending in `*` is a prefix."""
    for canonical, aliases in columns.items():
        for alias in (canonical, *aliases):
            wanted = header_key(alias)
            if key == wanted or (alias.endswith("*") and key.startswith(wanted + " ")):
                return canonical
    return ""


class _CsvReader:
    """csv.reader with the record's starting line, and csv.Error as a problem at that line (then stop)."""

    def __init__(self, text: str) -> None:
        if csv.field_size_limit() < CSV_FIELD_LIMIT:
            csv.field_size_limit(CSV_FIELD_LIMIT)
        self.reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))

    def header(self) -> list[str] | None:
        try:
            return next(self.reader, None)
        except csv.Error:
            return None

    def rows(self, path: Path, problem: Skip) -> Iterator[tuple[int, list[str]]]:
        previous_end = self.reader.line_num
        while True:
            start = previous_end + 1
            try:
                cells = next(self.reader, None)
            except csv.Error as exc:
                problem(f"{path}:{start}", f"not valid CSV ({exc}): close the quote opened on this line")
                return
            if cells is None:
                return
            previous_end = self.reader.line_num
            if any(cell.strip() for cell in cells):
                yield start, cells


def _looks_like_ndjson(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        return isinstance(json.loads(first), dict)
    except (json.JSONDecodeError, RecursionError):
        return False


def _found(text: str) -> str:
    try:
        whole = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return "several JSON documents"
    if isinstance(whole, dict):
        keys = ", ".join(sorted(map(str, whole))[:8]) or "none"
        return f"a JSON object with keys: {keys}"
    return f"a JSON {type(whole).__name__}"


def header_key(name: str) -> str:
    """A CSV header as a lookup key: `What do you like best?` -> `what do you like best`."""
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def csv_text_records(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for each CSV data row; keys are `header_key`s, values stripped ("" when the cell is missing).

    The line is where the record starts in the file (header = line 1), also for quoted multi-line cells.
    """
    reader = _CsvReader(text)
    header = reader.header()
    if header is None:
        return
    keys = [header_key(name) for name in header]
    for start, cells in reader.rows(Path("<text>"), _ignore):
        yield start, {key: (cells[i].strip() if i < len(cells) else "") for i, key in enumerate(keys) if key}


def _ignore(_where: str, _why: str) -> None:
    return


def csv_records(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """`csv_text_records` of a file (encoding sniffed)."""
    yield from csv_text_records(decode_export(path.read_bytes())[0])


def json_records(text: str, key: str | None) -> list[tuple[int | None, Any]] | None:
    """(line, item) for each element of a top-level JSON array (or of arrays back to back, as `gh api --paginate`
    writes them), or of the array under the top-level `key`.

    None when the document has neither shape. Raises `json.JSONDecodeError` for invalid JSON (and
    RecursionError for absurd nesting). Lines are None only if they cannot be located.
    """
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise
        return _concatenated_arrays(text, exc)
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


def _concatenated_arrays(text: str, error: json.JSONDecodeError) -> list[tuple[int | None, Any]]:
    """`[...][...]`: every document must be an array, else the original error stands."""
    decoder = json.JSONDecoder()
    out: list[tuple[int | None, Any]] = []
    pos = 0
    while True:
        pos = _skip_space(text, pos)
        if pos >= len(text):
            return out
        if text[pos] != "[":
            raise error
        start = pos
        _, pos = decoder.raw_decode(text, pos)
        located = _locate_items(text, start + 1)
        if located is None:
            raise error
        out.extend(located)


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


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


def ndjson_records(text: str) -> Iterator[tuple[int, Any]]:
    """(line, item) for each non-empty line; a line that is not JSON yields its decode error instead."""
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw)
        except json.JSONDecodeError as exc:
            yield number, exc
        except RecursionError as exc:
            yield number, exc


__all__ = [
    "ExportFile",
    "csv_records",
    "csv_text_records",
    "decode_export",
    "header_key",
    "json_records",
    "ndjson_records",
    "read_export_bytes",
    "read_export_text",
]
