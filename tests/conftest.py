"""Where the tests find data that does not live in the repository.

The golden tests read real vendor samples from the team's shared folder, expected beside
the checkout: ``<repository root>/../shared/data/<name>`` (the repository root is the
folder that holds ``pyproject.toml``). That folder is not part of the repository, so a
fresh clone elsewhere has no samples: the tests that need them are collected and then
skipped, with the reason. In CI the samples must be there: with
``POINTLINE_REQUIRE_SHARED_DATA=1`` (``.ci/run`` sets it) a missing folder fails those tests
instead. The repository's own hand-made cases (``tests/cases/``) never need the folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The folder that holds pyproject.toml."""

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
"""The team's shared data folder, beside the checkout (it may be absent)."""

REQUIRE_SHARED_DATA = "POINTLINE_REQUIRE_SHARED_DATA"
"""Set to ``1`` to turn a missing shared folder into a test failure (CI)."""


def shared_data(name: str) -> Path:
    """``../shared/data/<name>`` beside the checkout; skips the calling test when it is
    absent, or fails it when ``POINTLINE_REQUIRE_SHARED_DATA=1``."""
    folder = SHARED_DATA / name
    if folder.is_dir():
        return folder
    reason = f"the shared samples are not beside this checkout: ../shared/data/{name}; see README"
    if os.environ.get(REQUIRE_SHARED_DATA) == "1":
        pytest.fail(f"{reason} ({REQUIRE_SHARED_DATA}=1 requires them)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def tardis_samples() -> Path:
    """The real Tardis CSV samples (``../shared/data/tardis-samples``)."""
    return shared_data("tardis-samples")
