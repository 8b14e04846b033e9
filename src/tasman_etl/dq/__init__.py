"""Data quality: the page gate, its expectation suites and their Data Docs.

Importing this package is cheap, and so is gating pages: the suites
(`tasman_etl.dq.gx.suite`) are evaluated natively (`tasman_etl.dq.native`, ADR 0026).
Great Expectations is imported only for ``tasman-etl dq --docs`` (`tasman_etl.dq.gx.runner`).

Modules: `gate` (decisions: hold, quarantine, warn), `check` (outcomes per expectation and
page), `frames` (the tables the suites check), `native` (the evaluator), `outcome` (what
the loading pipeline receives), `gx` (the suites as data, the GX runner, offline Data Docs).
"""

from __future__ import annotations

from tasman_etl.dq.check import ExpectationOutcome
from tasman_etl.dq.frames import Frame
from tasman_etl.dq.gate import DqGate, ItemCountMode, PageCheck, build_gate, check_payload
from tasman_etl.dq.native import NativeSuiteRunner, UnsupportedExpectationError

__all__ = [
    "DqGate",
    "ExpectationOutcome",
    "Frame",
    "ItemCountMode",
    "NativeSuiteRunner",
    "PageCheck",
    "UnsupportedExpectationError",
    "build_gate",
    "check_payload",
]
