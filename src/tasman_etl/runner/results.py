"""What a command's run ends with, and the signals that end one early."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasman_etl.errors import RunAborted, RunLockedError

__all__ = ["RunAborted", "RunLockedError", "RunResult"]


@dataclass(frozen=True)
class RunResult:
    """The outcome of a command's run: its summary and the exit status it implies."""

    run_id: str
    summary: dict[str, Any]
    failed: bool
