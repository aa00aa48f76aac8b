"""A progress display for long work on a TTY (rich); silent otherwise (cron logs get the JSON events instead)."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn


class SyncProgress:
    """Callable `(kind, data)` receiving sync events; one bar per source while its rows are written."""

    def __init__(self, console: Console) -> None:
        self.enabled = console.is_terminal
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
        )
        self._tasks: dict[str, TaskID] = {}

    def start(self) -> SyncProgress:
        if self.enabled:
            self._progress.start()
        return self

    def stop(self) -> None:
        if self.enabled:
            self._progress.stop()

    def __enter__(self) -> SyncProgress:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if not self.enabled:
            return
        source = str(data.get("source", ""))
        if kind == "source_started":
            self._tasks[source] = self._progress.add_task(f"{source}: writing", total=None)
        elif kind == "progress" and source in self._tasks:
            self._progress.update(self._tasks[source], completed=data["done"], total=data["total"])
        elif kind == "source_done" and source in self._tasks:
            self._progress.update(self._tasks[source], description=f"{source}: done")
