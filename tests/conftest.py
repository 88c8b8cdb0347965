"""Shared test fixtures: where ../shared lives, and a marker for tests that need it.

Tests that read real models or collections skip only when ../shared is absent (a checkout
outside this workplace); anywhere it exists they run, so no failure can hide behind a skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"
SPLADE_TINY = SHARED / "models" / "splade-tiny"

requires_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared is absent")
