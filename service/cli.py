"""The `backlog` command line (typer). Filled in by the pipelines; this is the entry point."""

from __future__ import annotations

import typer

app = typer.Typer(help="Backlog grooming inside Notion.", no_args_is_help=True)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo("backlog 0.1.0")


def main() -> None:
    app()
