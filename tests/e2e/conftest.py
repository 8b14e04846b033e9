"""Fixtures of the e2e tier (see e2e_helpers)."""

from e2e_helpers import cli

__all__ = ["cli"]
