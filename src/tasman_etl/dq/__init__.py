"""Data quality: the Great Expectations page gate and its Data Docs.

Importing this package is cheap; Great Expectations itself is imported on the first
page a gate checks (see `tasman_etl.dq.gate`).
"""

from __future__ import annotations

from tasman_etl.dq.gate import DqGate, ItemCountMode, PageCheck, build_gate, check_payload

__all__ = ["DqGate", "ItemCountMode", "PageCheck", "build_gate", "check_payload"]
