"""Load the grooming policy (`backlog.toml`) into `scoring.policy.Policy`, with errors that name file and line.

A missing file at the default path means the seed's defaults (a fresh machine works); a missing file at a path the
operator set explicitly, a TOML syntax error or an unknown key is a configuration error (exit code 2).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from scoring.policy import Policy
from service.logging import get_logger
from service.settings import Settings

log = get_logger(__name__)


class ConfigError(Exception):
    """The configuration is wrong; the message says where and how to fix it."""


def load_policy(path: Path, *, explicit: bool = False) -> Policy:
    """Read `path` (TOML). `explicit`: the operator named this file, so it must exist."""
    if not path.exists():
        if explicit:
            raise ConfigError(f"BACKLOG_CONFIG={path} does not exist; create it (see deploy/demo/backlog.toml)")
        log.info("config.defaults", path=str(path), reason="file not found; using the seed's defaults")
        return Policy()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"[{'.'.join(str(p) for p in err['loc'])}] {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ConfigError(f"{path}: {problems}") from None


def policy_for(settings: Settings) -> Policy:
    """The policy at BACKLOG_CONFIG; it must exist only when the operator set BACKLOG_CONFIG (a fresh machine runs
    on the seed's defaults)."""
    return load_policy(settings.backlog_config, explicit="backlog_config" in settings.model_fields_set)
