"""Name -> connector class, imported lazily so one broken source cannot break the others' import."""

from __future__ import annotations

import importlib

from connectors.base import Connector

CONNECTORS: dict[str, str] = {
    "zendesk": "connectors.zendesk:ZendeskConnector",
    "g2": "connectors.g2:G2Connector",
    "gong": "connectors.gong:GongConnector",
    "github": "connectors.github:GitHubConnector",
    "discord": "connectors.discord:DiscordConnector",
    "slack": "connectors.slack:SlackConnector",
    "salesforce": "connectors.salesforce:SalesforceConnector",
    "trustpilot": "connectors.trustpilot:TrustpilotConnector",
    "pagerduty": "connectors.pagerduty:PagerDutyConnector",
    "tracker": "connectors.tracker:TrackerConnector",
}


def connector_class(name: str) -> type[Connector]:
    """The connector class for `name` (one of `CONNECTORS`)."""
    try:
        target = CONNECTORS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown source {name!r}; choose from {', '.join(CONNECTORS)}") from None
    module_name, _, attr = target.partition(":")
    cls: type[Connector] = getattr(importlib.import_module(module_name), attr)
    return cls
