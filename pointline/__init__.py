"""Pointline: raw market-data files into typed, replayable Parquet tables."""

from __future__ import annotations

__version__ = "0.1.0"
