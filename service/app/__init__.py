"""Entry points: parse, call one pipeline, render, exit code (CLI, webhook app, server wiring)."""
