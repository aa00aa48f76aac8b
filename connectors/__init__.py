"""Connectors: each turns one feedback source (live API or export file) into `Signal`s. No Notion here."""
