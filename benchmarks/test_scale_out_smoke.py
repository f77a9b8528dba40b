"""``scale_out.py`` on 2 small files, so that it cannot rot (``make test``; skipped by
``--benchmark-only``: ``make bench`` runs the script itself at full size)."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_scale_out_smoke(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is a dev dependency")
    import report
    import scale_out

    result = scale_out.run(files=2, rows=2_000, rounds=1, data_dir=tmp_path)
    assert [r["mode"] for r in result["runs"]] == ["serial", "workers", "ray"]
    assert {r["rows"] for r in result["runs"]} == {4_000}
    serial = result["runs"][0]
    assert serial["vs_serial"] == 1.0
    assert serial["worker_processes"] == 1
    assert all(r["max_rss_mib_per_worker"] > 50 for r in result["runs"])
    lines = report._scale_table({"scale_out": result})
    assert lines[0].startswith("### Many files at once: 2 L2 files x 2,000 rows")
    assert len([line for line in lines if line.startswith("| ")]) == 4
