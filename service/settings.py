"""One `Settings` for the whole process: environment, `.env`, and a Kubernetes `secrets_dir`.

Every secret is a `SecretStr` so that printing settings (or logging them by accident) shows `**********`.
Where a token is absent, the feature that needs it is off, never a crash: no `NOTION_TOKEN` means the local
Notion sandbox; no source credentials and no export file means that source is skipped with one line.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from connectors.base import SourceConfig
from connectors.discord import DiscordConfig
from connectors.g2 import G2Config
from connectors.github import GitHubConfig
from connectors.gong import GongConfig
from connectors.pagerduty import PagerDutyConfig
from connectors.salesforce import SalesforceConfig
from connectors.slack import SlackConfig
from connectors.tracker import TrackerConfig
from connectors.trustpilot import TrustpilotConfig
from connectors.zendesk import ZendeskConfig
from scoring.policy import Sources

NOTION_API_URL = "https://api.notion.com"
DEFAULT_SECRETS_DIR = "/run/secrets/backlog"
# The Notion-Version values the service speaks (what each changes: service/notion/versions.py).
NOTION_API_VERSIONS = ("2025-09-03", "2026-03-11", "2026-12-01")
DEFAULT_NOTION_API_VERSION = "2026-03-11"

CommaList = Annotated[list[str], NoDecode]


def _split_commas(value: Any) -> Any:
    """`ZENDESK_TAGS=feature-request,voice-agents` -> ["feature-request", "voice-agents"]."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of the service. The README's table lists them; keep the two in step."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        populate_by_name=True,
    )

    # --- Notion -------------------------------------------------------------------------------------------
    notion_token: SecretStr | None = Field(
        default=None, description="Notion integration token. Unset: use the local sandbox."
    )
    notion_api_url: str = Field(default=NOTION_API_URL, description="Base URL of the Notion API.")
    notion_parent_page_id: str | None = Field(
        default=None,
        description="Page under which `backlog init` creates the database and `report` the sprint pages.",
    )
    notion_database_id: str | None = Field(
        default=None, description="Adopt this existing database instead of creating/finding one by title."
    )
    notion_database_title: str = Field(
        default="backlog-candidates", description="Title used to create or find the candidates database."
    )
    notion_requests_per_minute: int = Field(
        default=180,
        ge=1,
        description="Notion's per-connection budget per 60 s window: 180 on Free/Plus, 600 on Business/Enterprise. "
        "Shared by every backlog process on the host (a file-locked bucket in BACKLOG_CACHE_DIR).",
    )
    notion_rate_limit: float | None = Field(
        default=None,
        gt=0,
        description="Older alias, in requests per second: when set, a steady rate with no burst instead of "
        "NOTION_REQUESTS_PER_MINUTE's budget.",
    )
    notion_timeout_s: float = Field(default=30.0, gt=0, description="Timeout of one Notion request.")
    notion_max_retries: int = Field(
        default=5, ge=0, description="Retries for 429/529/5xx/timeouts before a Notion call fails."
    )
    notion_webhook_secret: SecretStr | None = Field(
        default=None,
        description="The webhook subscription's verification_token; signs every delivery (HMAC-SHA256).",
    )
    notion_bot_user_id: str | None = Field(
        default=None, description="This integration's bot user id (found with users/me when unset)."
    )
    notion_api_version: str = Field(
        default=DEFAULT_NOTION_API_VERSION,
        description="Notion-Version header sent on every call: 2025-09-03, 2026-03-11 or 2026-12-01.",
    )
    notion_block_budget: int | None = Field(
        default=None,
        gt=0,
        description="Blocks the workspace may create through the API (e.g. 1000 on a capped Free plan); "
        "`backlog doctor` warns at 80 %. Unset: unlimited.",
    )

    # --- The service itself --------------------------------------------------------------------------------
    backlog_config: Path = Field(
        default=Path("backlog.toml"), description="Grooming policy: scales, OKRs, account segments, capacity."
    )
    backlog_sandbox_path: Path = Field(
        default=Path(".backlog/sandbox.sqlite3"), description="SQLite file of the local Notion sandbox."
    )
    backlog_sandbox_token: SecretStr = Field(
        default=SecretStr("sandbox"), description="The one token the local sandbox accepts."
    )
    backlog_api_token: SecretStr | None = Field(
        default=None,
        description="Secret that `serve`'s action endpoints require (the PM's Notion buttons, POST /rescore, "
        "POST /sync): `Authorization: Bearer <token>` or `X-Backlog-Token: <token>`.",
    )
    backlog_public_url: str | None = Field(
        default=None,
        description="Public HTTPS base URL of `backlog serve` (e.g. https://backlog.example.com): the URL the "
        "control page tells the PM to paste into each Notion button.",
    )
    backlog_log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    backlog_log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto = pretty on a TTY, JSON otherwise."
    )
    backlog_scrub_pii: bool = Field(
        default=True, description="Replace emails and phone numbers in excerpts before they reach Notion."
    )
    backlog_cache_dir: Path = Field(
        default=Path(".backlog/cache"),
        description="Local cache (GitHub ETags, Notion rows, database id, schema). Losing it costs calls, never data.",
    )
    backlog_full_read_hours: float = Field(
        default=24.0,
        gt=0,
        description="Hours between full reads of the candidates; runs in between read only the rows edited since.",
    )
    backlog_lock_path: Path = Field(
        default=Path(".backlog/run.lock"),
        description="Lock file: one writing command (sync, score, report, run, serve's work) at a time per host.",
    )
    backlog_source_timeout_s: float = Field(
        default=30.0, gt=0, description="Total deadline of one request to a source (connect + every byte of it)."
    )
    backlog_source_max_retries: int = Field(
        default=5, ge=0, description="Retries of one source request (5xx, timeouts, 429) before the source fails."
    )
    backlog_lock_wait_s: float = Field(
        default=0.0, ge=0, description="Seconds a writing command waits for BACKLOG_LOCK_PATH before exiting 1."
    )
    backlog_sync_overlap_hours: float = Field(
        default=24.0, ge=0, description="Cursor overlap: sync re-reads this much before the newest Last Seen."
    )
    backlog_source_deadline_s: float = Field(
        default=900.0,
        gt=0,
        description="Per-source deadline of a sync: a source still reading after it is reported as timed out.",
    )
    backlog_dedupe_threshold: float = Field(
        default=80.0,
        ge=0,
        le=100,
        description="Fuzzy score (0-100, token-set ratio of titles) from which a Possible Duplicate is linked.",
    )

    # --- Zendesk -------------------------------------------------------------------------------------------
    zendesk_url: str | None = Field(default=None, description="e.g. https://acme.zendesk.com")
    zendesk_email: str | None = Field(default=None, description="Agent email for API-token auth.")
    zendesk_api_token: SecretStr | None = Field(default=None, description="Zendesk API token.")
    zendesk_oauth_token: SecretStr | None = Field(default=None, description="OAuth bearer (instead of email/token).")
    zendesk_tags: CommaList = Field(
        default_factory=lambda: ["feature-request", "voice-agents"],
        description="Tickets with any of these tags are feedback.",
    )
    zendesk_export_path: Path | None = Field(default=None, description="Zendesk JSON ticket export.")

    # --- G2 ------------------------------------------------------------------------------------------------
    g2_api_url: str = Field(default="https://data.g2.com", description="G2 API base URL.")
    g2_api_token: SecretStr | None = Field(default=None, description="G2 API token (Bearer).")
    g2_product_id: str | None = Field(default=None, description="G2 product UUID whose reviews are read.")
    g2_export_path: Path | None = Field(default=None, description="G2 CSV export of reviews.")

    # --- Gong ----------------------------------------------------------------------------------------------
    gong_api_url: str = Field(default="https://api.gong.io", description="Gong API base URL (regional host).")
    gong_access_key: SecretStr | None = Field(default=None, description="Gong access key.")
    gong_access_key_secret: SecretStr | None = Field(default=None, description="Gong access key secret.")
    gong_export_path: Path | None = Field(default=None, description="Gong calls export (JSON or CSV).")
    gong_trackers: CommaList = Field(
        default_factory=lambda: ["product feedback", "feature request"],
        description="Trackers/keywords that flag a call as product feedback.",
    )

    # --- GitHub --------------------------------------------------------------------------------------------
    github_api_url: str = Field(default="https://api.github.com", description="GitHub (Enterprise) API URL.")
    github_token: SecretStr | None = Field(default=None, description="GitHub token (read access to issues).")
    github_repos: CommaList = Field(default_factory=list, description="owner/name,owner/name")
    github_labels: CommaList = Field(default_factory=list, description="Only issues with these labels.")
    github_export_path: Path | None = Field(default=None, description="`gh issue list --json ...` output.")

    # --- Discord -------------------------------------------------------------------------------------------
    discord_api_url: str = Field(default="https://discord.com/api/v10", description="Discord API base URL.")
    discord_bot_token: SecretStr | None = Field(default=None, description="Discord bot token.")
    discord_channel_ids: CommaList = Field(default_factory=list, description="Text or forum channel ids.")
    discord_export_path: Path | None = Field(default=None, description="DiscordChatExporter JSON export.")

    # --- Slack (enterprise pilot channels) ------------------------------------------------------------------
    slack_api_url: str = Field(default="https://slack.com/api", description="Slack Web API base URL.")
    slack_bot_token: SecretStr | None = Field(
        default=None, description="Slack bot token (xoxb-; scopes channels:history, groups:history)."
    )
    slack_channel_ids: CommaList = Field(default_factory=list, description="Pilot channel ids (C0123ABCD,...).")
    slack_export_path: Path | None = Field(
        default=None, description="Slack workspace export: its folder or .zip (channels.json + <channel>/<day>.json)."
    )
    slack_workspace_url: str | None = Field(
        default=None, description="e.g. https://acme.slack.com: message links of an export (the API asks auth.test)."
    )

    # --- Salesforce (lost deals) -----------------------------------------------------------------------------
    salesforce_instance_url: str | None = Field(default=None, description="e.g. https://acme.my.salesforce.com")
    salesforce_access_token: SecretStr | None = Field(default=None, description="Salesforce OAuth access token.")
    salesforce_api_version: str = Field(default="v61.0", description="REST API version of the query endpoint.")
    salesforce_loss_reason_field: str = Field(
        default="Loss_Reason__c", description="API name of the Opportunity field holding the loss reason."
    )
    salesforce_export_path: Path | None = Field(default=None, description="Salesforce report of lost deals (CSV).")

    # --- Trustpilot (reviews) --------------------------------------------------------------------------------
    trustpilot_api_url: str = Field(default="https://api.trustpilot.com", description="Trustpilot API base URL.")
    trustpilot_api_key: SecretStr | None = Field(default=None, description="Trustpilot API key (header apikey).")
    trustpilot_business_unit_id: str | None = Field(default=None, description="Business unit whose reviews are read.")
    trustpilot_export_path: Path | None = Field(default=None, description="Trustpilot Business reviews CSV export.")

    # --- PagerDuty (on-call incidents) -----------------------------------------------------------------------
    pagerduty_api_url: str = Field(default="https://api.pagerduty.com", description="PagerDuty REST API base URL.")
    pagerduty_api_token: SecretStr | None = Field(default=None, description="PagerDuty REST API token (read-only).")
    pagerduty_service_ids: CommaList = Field(default_factory=list, description="Only incidents of these services.")
    pagerduty_export_path: Path | None = Field(
        default=None, description="PagerDuty incidents: JSON of /incidents pages or the incidents CSV."
    )

    # --- Tech-debt tracker (engineering's spreadsheet) -------------------------------------------------------
    tracker_export_path: Path | None = Field(
        default=None, description="Tech-debt spreadsheet as CSV; columns in backlog.toml [sources.tracker]."
    )

    _split = field_validator(
        "zendesk_tags",
        "gong_trackers",
        "github_repos",
        "github_labels",
        "discord_channel_ids",
        "slack_channel_ids",
        "pagerduty_service_ids",
        mode="before",
    )(_split_commas)

    @field_validator(
        "notion_api_url",
        "g2_api_url",
        "gong_api_url",
        "github_api_url",
        "discord_api_url",
        "slack_api_url",
        "trustpilot_api_url",
        "pagerduty_api_url",
    )
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("notion_api_version")
    @classmethod
    def _known_version(cls, value: str) -> str:
        value = value.strip()
        if value not in NOTION_API_VERSIONS:
            raise ValueError(
                f"NOTION_API_VERSION={value!r} is not supported; set it to one of {', '.join(NOTION_API_VERSIONS)} "
                f"(or unset it for {DEFAULT_NOTION_API_VERSION})"
            )
        return value

    @property
    def uses_sandbox(self) -> bool:
        """No Notion token: every command talks to the local sandbox."""
        return self.notion_token is None or not self.notion_token.get_secret_value()

    # --- per-source slices: each connector sees its own settings only (the env names stay flat) -----------------

    def _request_limits(self) -> dict[str, Any]:
        """How long and how often every source's requests insist (one pair of settings for all sources)."""
        return {"timeout_s": self.backlog_source_timeout_s, "max_retries": self.backlog_source_max_retries}

    def zendesk_config(self) -> ZendeskConfig:
        return ZendeskConfig(
            url=self.zendesk_url,
            email=self.zendesk_email,
            api_token=self.zendesk_api_token,
            oauth_token=self.zendesk_oauth_token,
            tags=tuple(self.zendesk_tags),
            export_path=self.zendesk_export_path,
            **self._request_limits(),
        )

    def g2_config(self) -> G2Config:
        return G2Config(
            api_url=self.g2_api_url,
            api_token=self.g2_api_token,
            product_id=self.g2_product_id,
            export_path=self.g2_export_path,
            **self._request_limits(),
        )

    def gong_config(self) -> GongConfig:
        return GongConfig(
            api_url=self.gong_api_url,
            access_key=self.gong_access_key,
            access_key_secret=self.gong_access_key_secret,
            trackers=tuple(self.gong_trackers),
            export_path=self.gong_export_path,
            **self._request_limits(),
        )

    def github_config(self) -> GitHubConfig:
        return GitHubConfig(
            api_url=self.github_api_url,
            token=self.github_token,
            repos=tuple(self.github_repos),
            labels=tuple(self.github_labels),
            cache_dir=self.backlog_cache_dir,
            export_path=self.github_export_path,
            **self._request_limits(),
        )

    def discord_config(self) -> DiscordConfig:
        return DiscordConfig(
            api_url=self.discord_api_url,
            bot_token=self.discord_bot_token,
            channel_ids=tuple(self.discord_channel_ids),
            export_path=self.discord_export_path,
            **self._request_limits(),
        )

    def sources_policy(self) -> Sources:
        """`[sources.*]` of BACKLOG_CONFIG; defaults when the file is absent or unreadable (loading the policy
        reports those errors, naming the file, before any source is read)."""
        try:
            data = tomllib.loads(self.backlog_config.read_text(encoding="utf-8"))
            return Sources.model_validate(data.get("sources", {}))
        except (OSError, tomllib.TOMLDecodeError, ValidationError, AttributeError):
            return Sources()

    def slack_config(self) -> SlackConfig:
        return SlackConfig(
            api_url=self.slack_api_url,
            bot_token=self.slack_bot_token,
            channel_ids=tuple(self.slack_channel_ids),
            workspace_url=(self.slack_workspace_url or "").rstrip("/") or None,
            channel_accounts=dict(self.sources_policy().slack.channels),
            export_path=self.slack_export_path,
        )

    def salesforce_config(self) -> SalesforceConfig:
        return SalesforceConfig(
            api_url=(self.salesforce_instance_url or "").rstrip("/"),
            access_token=self.salesforce_access_token,
            api_version=self.salesforce_api_version.strip().strip("/"),
            loss_reason_field=self.salesforce_loss_reason_field.strip(),
            export_path=self.salesforce_export_path,
        )

    def trustpilot_config(self) -> TrustpilotConfig:
        return TrustpilotConfig(
            api_url=self.trustpilot_api_url,
            api_key=self.trustpilot_api_key,
            business_unit_id=self.trustpilot_business_unit_id,
            export_path=self.trustpilot_export_path,
        )

    def pagerduty_config(self) -> PagerDutyConfig:
        return PagerDutyConfig(
            api_url=self.pagerduty_api_url,
            api_token=self.pagerduty_api_token,
            service_ids=tuple(self.pagerduty_service_ids),
            export_path=self.pagerduty_export_path,
        )

    def tracker_config(self) -> TrackerConfig:
        columns = self.sources_policy().tracker.model_dump()
        return TrackerConfig(columns=columns, export_path=self.tracker_export_path)

    def source_config(self, name: str) -> SourceConfig:
        """The config slice of source `name` (one of `connectors.registry.CONNECTORS`)."""
        builders = {
            "zendesk": self.zendesk_config,
            "g2": self.g2_config,
            "gong": self.gong_config,
            "github": self.github_config,
            "discord": self.discord_config,
            "slack": self.slack_config,
            "salesforce": self.salesforce_config,
            "trustpilot": self.trustpilot_config,
            "pagerduty": self.pagerduty_config,
            "tracker": self.tracker_config,
        }
        try:
            return builders[name.lower()]()
        except KeyError:
            raise ValueError(f"unknown source {name!r}; choose from {', '.join(builders)}") from None

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Build settings, reading secrets from `BACKLOG_SECRETS_DIR` (default /run/secrets/backlog) if present."""
        secrets_dir = os.environ.get("BACKLOG_SECRETS_DIR", DEFAULT_SECRETS_DIR)
        if Path(secrets_dir).is_dir():
            return cls(_secrets_dir=secrets_dir, **overrides)
        return cls(**overrides)


def settings_table() -> list[tuple[str, str, str]]:
    """(ENV NAME, default, description) for every setting: the README's table and `backlog config` print it."""
    rows: list[tuple[str, str, str]] = []
    for name, field in Settings.model_fields.items():
        default: Any = field.get_default(call_default_factory=True)
        if isinstance(default, SecretStr):
            shown = "(secret)"
        elif isinstance(default, list):
            shown = ",".join(default) or "(empty)"
        elif default is None:
            shown = "(unset)"
        else:
            shown = str(default)
        rows.append((name.upper(), shown, field.description or ""))
    return rows


__all__ = ["Settings", "settings_table"]
