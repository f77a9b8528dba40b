"""``peers.py`` on a small file, so that it cannot rot (``make test``; skipped by
``--benchmark-only``: ``make bench`` runs the script itself at full size)."""

from __future__ import annotations

from pathlib import Path


def test_peers_smoke(tmp_path: Path) -> None:
    import peers
    import report

    results = [
        peers.run(rows=5_000, rounds=1, name=name, data_dir=tmp_path) for name in peers.INPUTS
    ]
    for result in results:
        assert [t["tool"] for t in result["tools"]] == ["bare", "pointline", "polars", "duckdb"]
        assert all(t["seconds"] > 0 and t["max_rss_mib"] > 50 for t in result["tools"])
        assert result["tools"][0]["ratio_vs_bare"] == 1.0
    lines = report._peers_table({"peers": results})
    titles = [line for line in lines if line.startswith("### ")]
    assert titles[0].startswith("### Against the peers: 5,000-row Tardis L2")
    assert "Quant360 SZSE order_new" in titles[2]
    assert len([line for line in lines if line.startswith("| ")]) == 3 * 5
