"""Load the grooming policy (`backlog.toml`) into `scoring.policy.Policy`, with errors that name file and line.

A missing file at the default path means the seed's defaults (a fresh machine works); a missing file at a path the
operator set explicitly, a TOML syntax error or an unknown key is a configuration error (exit code 2).
"""

from __future__ import annotations

import codecs
import difflib
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scoring.policy import Policy
from service.logging import get_logger
from service.settings import Settings

log = get_logger(__name__)


class ConfigError(Exception):
    """The configuration is wrong; the message says where and how to fix it."""


def load_policy(path: Path, *, explicit: bool = False) -> Policy:
    """Read `path` (TOML). `explicit`: the operator named this file, so it must exist."""
    if not path.exists() and not path.is_symlink():
        if explicit:
            raise ConfigError(f"BACKLOG_CONFIG={path} does not exist; create it (see deploy/demo/backlog.toml)")
        log.info("config.defaults", path=str(path), reason="file not found; using the seed's defaults")
        return Policy()
    data = _parse(path, _read_text(path))
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors(include_url=False))
        raise ConfigError(f"{path}: {problems}") from None


def _read_text(path: Path) -> str:
    """The file as UTF-8 (a BOM is fine); what is not a readable UTF-8 regular file is refused with the fix."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise ConfigError(
                f"{path}: not a regular file (a directory, pipe or device); point BACKLOG_CONFIG at a file"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}; fix the path or its permissions") from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ConfigError(f"{path}: the file is UTF-16; save it as UTF-8 (Notepad: Save as > Encoding: UTF-8)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8") from None


def _parse(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        lines = text.splitlines()
        shown = ""
        if found and 0 < int(found.group(1)) <= len(lines):
            shown = f" `{lines[int(found.group(1)) - 1].strip()[:80]}`"
        raise ConfigError(f"{path}: invalid TOML: {exc}{shown}; fix that line (see deploy/demo/backlog.toml)") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: a value is nested too deeply; flatten it") from None


def _describe(err: Any) -> str:
    """`[capacity.sprint_week] unknown key; did you mean sprint_weeks?`, or pydantic's message with the input."""
    loc = [str(part) for part in err["loc"]]
    key = ".".join(loc)
    if err["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        close = difflib.get_close_matches(loc[-1], known, n=1)
        hint = f"; did you mean {close[0]}?" if close else f"; known keys here: {', '.join(known)}"
        return f"[{key}] Extra inputs are not permitted: unknown key{hint}"
    shown = repr(err.get("input"))
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"[{key}] {err['msg']} (got {shown})"


def _known_keys(parents: list[str]) -> list[str]:
    model: Any = Policy
    for part in parents:
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None or not hasattr(field.annotation, "model_fields"):
            return []
        model = field.annotation
    return sorted(model.model_fields)


def policy_for(settings: Settings) -> Policy:
    """The policy at BACKLOG_CONFIG; it must exist only when the operator set BACKLOG_CONFIG (a fresh machine runs
    on the seed's defaults)."""
    return load_policy(settings.backlog_config, explicit="backlog_config" in settings.model_fields_set)
