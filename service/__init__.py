"""backlog service: settings, logging, the Notion gateway, pipelines, CLI, webhook app and the local sandbox."""
