"""``pointline ingest --workers N`` (issue 15): the same bytes however many processes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from pointline import Lake
from pointline.bootstrap import bootstrap_dim_symbol
from pointline.cli import main
from pointline.demo import write_demo_bronze
from pointline.parallel import default_workers, ingest_many

TIMES = {"created_at_ts_us", "processed_at_ts_us", "duration_us", "last_modified_ts_us"}


def lake_with_bronze(root: Path) -> Lake:
    lake = Lake(root)
    write_demo_bronze(lake.bronze_root)  # 4 Tardis files and a CN day of 8 files
    bootstrap_dim_symbol(lake)
    return lake


def silver_bytes(lake: Lake) -> dict[str, bytes]:
    root = lake.root / "silver"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def live_state(lake: Lake) -> list[dict[str, Any]]:
    out = io.StringIO()
    assert main(["--root", str(lake.root), "manifest", "--json"], out=out) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    return sorted(
        ({k: v for k, v in row.items() if k not in TIMES} for row in rows),
        key=lambda r: r["bronze_path"],
    )


def test_one_worker_and_two_give_the_same_silver_and_manifest(tmp_path: Path) -> None:
    lakes = []
    for workers in ("1", "2"):
        lake = lake_with_bronze(tmp_path / f"w{workers}")
        out = io.StringIO()
        argv = ["--root", str(lake.root), "ingest", str(lake.bronze_root), "--workers", workers]
        assert main(argv, out=out) == 0
        assert "12 files: 12 success" in out.getvalue()
        lakes.append(lake)
    assert silver_bytes(lakes[0]) == silver_bytes(lakes[1])
    assert len(silver_bytes(lakes[0])) > 12
    assert live_state(lakes[0]) == live_state(lakes[1])
    assert main(["--root", str(lakes[1].root), "verify"], out=io.StringIO()) == 0


def test_the_default_is_at_least_one_and_at_most_the_cores() -> None:
    import os

    assert 1 <= default_workers() <= (os.cpu_count() or 1)


def test_ingest_many_in_python_matches_a_serial_run(tmp_path: Path) -> None:
    from pointline import BronzeFileMetadata
    from pointline.ingest import ingest_file

    lakes = []
    for name, workers in (("serial", None), ("pool", 2)):
        lake = lake_with_bronze(tmp_path / name)
        metas = [
            BronzeFileMetadata.from_path(p, bronze_root=lake.bronze_root)
            for p in sorted(lake.bronze_root.rglob("*.csv.gz"))
        ]
        if workers is None:
            results = [ingest_file(m, lake=lake) for m in metas]
        else:
            results = ingest_many(reversed(metas), lake=lake, workers=workers)[::-1]
        assert [r.status for r in results] == ["success"] * 12
        lakes.append((lake, [r.bronze_path for r in results]))
    assert lakes[0][1] == lakes[1][1]  # results come back in the order given
    assert silver_bytes(lakes[0][0]) == silver_bytes(lakes[1][0])
    assert live_state(lakes[0][0]) == live_state(lakes[1][0])
