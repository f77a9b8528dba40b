from __future__ import annotations

import datetime
import hashlib
import multiprocessing
import os
import re
from pathlib import Path

import pyarrow as pa
import pytest
from pyarrow import ipc

import pointline.manifest as manifest_module
import pointline.storage as storage_module
from pointline.errors import PointlineError
from pointline.manifest import (
    ConcurrentCommitError,
    Manifest,
    ManifestEntry,
    ManifestError,
    file_id_for,
)
from pointline.schemas.control import INGEST_MANIFEST


def entry(path: str = "a.csv.gz", file_hash: str = "h1", **changes: object) -> ManifestEntry:
    base = ManifestEntry(
        file_id=file_id_for("tardis", "trades", path, file_hash),
        vendor="tardis",
        data_type="trades",
        bronze_path=path,
        file_hash=file_hash,
        table_name="trades",
        status="pending",
        file_size_bytes=100,
        created_at_ts_us=1,
        processed_at_ts_us=1,
        pointline_version="0.1.0",
    )
    return base.replace(**changes)


def version_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.suffix == ".arrow")


# -- file_id -----------------------------------------------------------------------------


def test_file_id_is_deterministic_and_63_bit() -> None:
    assert file_id_for("tardis", "trades", "a.csv.gz", "h1") == file_id_for(
        "tardis", "trades", "a.csv.gz", "h1"
    )
    # blake2b-64 of "tardis|trades|a.csv.gz|h1", little-endian, top bit cleared
    raw = hashlib.blake2b(b"tardis|trades|a.csv.gz|h1", digest_size=8).digest()
    assert file_id_for("tardis", "trades", "a.csv.gz", "h1") == int.from_bytes(raw, "little") & (
        2**63 - 1
    )
    ids = {file_id_for("v", "d", f"p{i}", "h") for i in range(2000)}
    assert len(ids) == 2000
    assert all(0 <= i < 2**63 for i in ids)
    assert max(ids) > 2**62  # the full 63-bit range is used
    assert file_id_for("v", "d", "p", "h1") != file_id_for("v", "d", "p", "h2")


def test_entry_rejects_bad_status_and_file_id() -> None:
    with pytest.raises(ManifestError, match=r"status 'done' is not one of \['pending'"):
        entry(status="done")
    with pytest.raises(ManifestError, match=r"file_id -1 is outside 0\.\.2\*\*63-1"):
        entry(file_id=-1)


def test_entry_identity_and_replace() -> None:
    e = entry()
    assert e.identity == ("tardis", "trades", "a.csv.gz", "h1")
    done = e.replace(status="success", rows_total=5)
    assert (done.status, done.rows_total, e.status) == ("success", 5, "pending")
    assert entry(silver_files=["x"]).silver_files == ("x",)


# -- fold, lookups, state table ----------------------------------------------------------


def test_empty_manifest(tmp_path: Path) -> None:
    m = Manifest(tmp_path / "m")
    assert m.version == 0
    assert m.entries() == {}
    assert m.problems == ()
    assert m.state_table().num_rows == 0
    assert not (tmp_path / "m").exists()  # created lazily on first commit


def test_fold_last_commit_wins(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    a, b = entry("a.csv.gz"), entry("b.csv.gz")
    assert m.commit([a, b]) == 1
    assert m.commit([a.replace(status="success", rows_total=3)]) == 2
    assert m.commit([b.replace(status="failed", error_message="boom")]) == 3
    for reader in (m, Manifest(tmp_path)):
        assert reader.version == 3
        state = reader.entries()
        assert list(state) == sorted([a.file_id, b.file_id])
        assert state[a.file_id] == a.replace(status="success", rows_total=3)
        assert state[b.file_id] == b.replace(status="failed", error_message="boom")
        assert reader.get(a.file_id) == state[a.file_id]
        assert reader.get(12345) is None
    assert version_files(tmp_path) == [f"{v:020d}.arrow" for v in (1, 2, 3)]


def test_last_wins_within_one_commit(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    a = entry()
    m.commit([a, a.replace(status="success")])
    assert Manifest(tmp_path).entries() == {a.file_id: a.replace(status="success")}


def test_at_path_lists_every_hash_oldest_first(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    old = entry("a.csv.gz", "h1", created_at_ts_us=10)
    new = entry("a.csv.gz", "h2", created_at_ts_us=20)
    other = entry("b.csv.gz", "h1")
    m.commit([new, other])
    m.commit([old, new.replace(status="success")])
    m.commit([old.replace(status="superseded")])
    got = Manifest(tmp_path).at_path("tardis", "trades", "a.csv.gz")
    assert got == [old.replace(status="superseded"), new.replace(status="success")]
    assert m.at_path("tardis", "trades", "a.csv.gz") == got
    assert m.at_path("tardis", "quotes", "a.csv.gz") == []


def test_state_table_schema_and_order(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    es = [entry(f"{i}.csv.gz") for i in range(5)]
    m.commit(es)
    table = m.state_table()
    assert table.schema.equals(INGEST_MANIFEST.arrow_schema, check_metadata=True)
    assert table.column("file_id").to_pylist() == sorted(e.file_id for e in es)


def test_round_trip_of_every_field(tmp_path: Path) -> None:
    full = entry(
        status="success",
        status_reason="partial",
        error_message="some rows bad",
        rows_total=10,
        rows_written=7,
        rows_quarantined=3,
        trading_date_min=datetime.date(2024, 1, 1),
        trading_date_max=datetime.date(2024, 1, 2),
        ts_event_min_us=1_704_067_200_000_000,
        ts_event_max_us=1_704_153_600_000_000,
        file_size_bytes=2**40,
        last_modified_ts_us=5,
        created_at_ts_us=6,
        processed_at_ts_us=7,
        duration_us=8,
        pointline_version="9.9.9",
        silver_files=("silver/trades/x/1-0.parquet", "silver/trades/x/1-1.parquet"),
        quarantine_files=("silver/validation_log/1-0.parquet",),
        dim_symbol_version=4,
    )
    bare = entry("b.csv.gz")  # every nullable field None, empty lists
    Manifest(tmp_path).commit([full, bare])
    state = Manifest(tmp_path).entries()
    assert state[full.file_id] == full
    assert state[bare.file_id] == bare
    assert state[bare.file_id].silver_files == ()
    assert state[bare.file_id].trading_date_min is None
    row = Manifest(tmp_path).state_table().to_pylist()
    assert {r["file_id"]: r["silver_files"] for r in row}[full.file_id] == list(full.silver_files)


def test_file_is_arrow_ipc_with_manifest_schema(tmp_path: Path) -> None:
    Manifest(tmp_path).commit([entry()])
    table = ipc.open_file(str(tmp_path / f"{1:020d}.arrow")).read_all()
    assert table.schema.equals(INGEST_MANIFEST.arrow_schema, check_metadata=True)
    assert table.num_rows == 1


def test_a_commit_written_before_the_newest_columns_still_reads(tmp_path: Path) -> None:
    """Columns are only appended (all nullable): an older commit reads with them null."""
    old = entry(status="success", rows_total=3, dim_symbol_version=2)
    Manifest(tmp_path).commit([old])
    path = tmp_path / f"{1:020d}.arrow"
    table = ipc.open_file(str(path)).read_all()
    older = table.drop_columns(["attempt_reason", "attempt_error", "dim_symbol_version"])
    with ipc.new_file(str(path), older.schema) as writer:
        writer.write_table(older)
    manifest = Manifest(tmp_path)
    assert manifest.problems == ()
    assert manifest.entries()[old.file_id] == old.replace(dim_symbol_version=None)


# -- commit rules ------------------------------------------------------------------------


def test_empty_commit_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="commit needs at least one entry"):
        Manifest(tmp_path).commit([])


def test_collision_with_state_is_an_error(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    a = entry("a.csv.gz")
    m.commit([a])
    clash = entry("b.csv.gz", file_id=a.file_id)
    with pytest.raises(ManifestError, match=rf"file_id {a.file_id} collision") as info:
        m.commit([clash])
    assert isinstance(info.value, PointlineError)
    assert info.value.file == "b.csv.gz"
    with pytest.raises(ManifestError, match="collision"):
        Manifest(tmp_path).commit([entry("c.csv.gz", file_id=5), entry("d.csv.gz", file_id=5)])
    assert version_files(tmp_path) == [f"{1:020d}.arrow"]


def test_put_if_absent_never_overwrites(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    m.commit([entry("a.csv.gz")])  # version 1; m has read it
    squatter = tmp_path / f"{2:020d}.arrow"
    squatter.write_bytes(b"not mine")
    b = entry("b.csv.gz")
    assert m.commit([b]) == 3  # lost version 2, retried with 3
    assert squatter.read_bytes() == b"not mine"
    assert m.get(b.file_id) == b
    assert [p for p in m.problems if "00000000000000000002.arrow" in p]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_expected_version_conflict_raises_and_writes_nothing(tmp_path: Path) -> None:
    first, second = Manifest(tmp_path), Manifest(tmp_path)
    assert first.commit([entry("a.csv.gz")], expected_version=0) == 1
    assert second.version == 1
    assert first.commit([entry("b.csv.gz")], expected_version=1) == 2
    # `second` still believes the log is at version 1
    with pytest.raises(
        ConcurrentCommitError,
        match=r"expected to commit version 2 on top of 1, but the log is already at version 2",
    ) as info:
        second.commit([entry("c.csv.gz")], expected_version=1)
    assert (info.value.expected_version, info.value.actual_version) == (1, 2)
    assert isinstance(info.value, RuntimeError)
    assert isinstance(info.value, PointlineError)
    assert version_files(tmp_path) == [f"{v:020d}.arrow" for v in (1, 2)]
    assert second.version == 2  # re-read, so the caller can decide again
    assert second.commit([entry("c.csv.gz")], expected_version=2) == 3


def test_expected_version_conflict_found_at_publish(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    m.commit([entry("a.csv.gz")])
    (tmp_path / f"{2:020d}.arrow").write_bytes(b"x")  # appears after m's last read
    with pytest.raises(ConcurrentCommitError, match="already at version 2"):
        m.commit([entry("b.csv.gz")], expected_version=1)
    assert version_files(tmp_path) == [f"{v:020d}.arrow" for v in (1, 2)]
    assert (tmp_path / f"{2:020d}.arrow").read_bytes() == b"x"


def test_expected_version_ahead_of_log(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="expected_version 4 is ahead of the log"):
        Manifest(tmp_path).commit([entry()], expected_version=4)


def test_retries_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage_module, "publish_exclusive", lambda *_: False)  # always lose
    with pytest.raises(
        ConcurrentCommitError, match=r"lost the race for a version 2 times in a row"
    ) as info:
        Manifest(tmp_path, max_attempts=2).commit([entry()])
    assert info.value.expected_version is None


def _worker(directory: str, worker: int, commits: int) -> None:
    m = Manifest(directory, checkpoint_every=10)
    for i in range(commits):
        m.commit([entry(f"w{worker}/{i}.csv.gz", created_at_ts_us=worker)])


def test_concurrent_processes_never_lose_a_commit(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), w, 25)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert version_files(tmp_path) == [f"{v:020d}.arrow" for v in range(1, 101)]
    m = Manifest(tmp_path)
    assert m.version == 100
    assert m.problems == ()
    expected = {entry(f"w{w}/{i}.csv.gz").file_id for w in range(4) for i in range(25)}
    assert set(m.entries()) == expected
    # every commit file holds exactly one entry
    for v in range(1, 101):
        assert ipc.open_file(str(tmp_path / f"{v:020d}.arrow")).read_all().num_rows == 1
    # the full log (no checkpoints) folds to the same state
    fresh = Manifest(tmp_path)
    for cp in (tmp_path / "_checkpoints").iterdir():
        cp.unlink()
    assert fresh.entries() == m.entries()


# -- torn files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        ("truncate", r"skipped commit 00000000000000000002\.arrow: "),
        ("garbage", r"skipped commit 00000000000000000002\.arrow: "),
        ("empty", r"skipped commit 00000000000000000002\.arrow: "),
        ("wrong_schema", r"schema is not ingest_manifest's: got \['x'\]"),
    ],
)
def test_torn_commit_is_skipped_and_reported(tmp_path: Path, damage: str, error: str) -> None:
    m = Manifest(tmp_path)
    a, b, c = entry("a.csv.gz"), entry("b.csv.gz"), entry("c.csv.gz")
    for e in (a, b, c):
        m.commit([e])
    path = tmp_path / f"{2:020d}.arrow"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:-20])
    elif damage == "garbage":
        path.write_bytes(b"\x00garbage" * 10)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        sink = pa.BufferOutputStream()
        with ipc.new_file(sink, pa.schema([("x", pa.int64())])) as w:
            w.write_table(pa.table({"x": [1]}))
        path.write_bytes(sink.getvalue().to_pybytes())
    (tmp_path / ".00000000000000000004.arrow.123.tmp").write_bytes(b"leftover")
    reader = Manifest(tmp_path)
    assert set(reader.entries()) == {a.file_id, c.file_id}
    assert reader.version == 3
    assert len(reader.problems) == 1
    assert reader.problems[0].startswith("skipped commit 00000000000000000002.arrow: ")
    assert re.search(error, reader.problems[0])
    assert reader.commit([entry("d.csv.gz")]) == 4  # the torn version still counts


def test_refresh_reads_only_new_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer, reader = Manifest(tmp_path), Manifest(tmp_path)
    writer.commit([entry("a.csv.gz")])
    assert reader.version == 1
    writer.commit([entry("b.csv.gz")])
    writer.commit([entry("c.csv.gz")])
    assert reader.version == 1  # no re-read until refresh
    read = count_reads(monkeypatch)
    reader.refresh()
    assert (reader.version, len(reader.entries()), read) == (
        3,
        3,
        [f"{v:020d}.arrow" for v in (2, 3)],
    )


# -- checkpoints -------------------------------------------------------------------------


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    read: list[str] = []
    original = manifest_module._read_ipc

    def counting(path: Path) -> pa.Table:
        read.append(path.name)
        return original(path)

    monkeypatch.setattr(manifest_module, "_read_ipc", counting)
    return read


def test_checkpoint_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = Manifest(tmp_path, checkpoint_every=3)
    es = [entry(f"{i}.csv.gz") for i in range(5)]
    for e in es:
        m.commit([e])
    m.commit([es[0].replace(status="success")])  # version 6: second checkpoint
    assert sorted(os.listdir(tmp_path / "_checkpoints")) == [f"{v:020d}.arrow" for v in (3, 6)]
    m.commit([es[1].replace(status="failed")])  # version 7
    (tmp_path / f"{1:020d}.arrow").unlink()  # covered by the checkpoints
    read = count_reads(monkeypatch)
    reader = Manifest(tmp_path, checkpoint_every=3)
    assert reader.entries() == m.entries()
    assert reader.get(es[0].file_id) == es[0].replace(status="success")
    assert reader.version == 7
    assert read == [f"{6:020d}.arrow", f"{7:020d}.arrow"]
    assert reader.problems == ()


def test_torn_checkpoint_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = Manifest(tmp_path, checkpoint_every=2)
    es = [entry(f"{i}.csv.gz") for i in range(5)]
    for e in es:
        m.commit([e])
    checkpoints = tmp_path / "_checkpoints"
    (checkpoints / f"{4:020d}.arrow").write_bytes(b"torn")
    read = count_reads(monkeypatch)
    reader = Manifest(tmp_path)
    assert set(reader.entries()) == {e.file_id for e in es}
    assert read == [f"{v:020d}.arrow" for v in (4, 2, 3, 4, 5)]
    assert len(reader.problems) == 1
    assert reader.problems[0].startswith("skipped checkpoint 00000000000000000004.arrow: ")
    # every checkpoint torn: the full log is used
    (checkpoints / f"{2:020d}.arrow").write_bytes(b"")
    assert set(Manifest(tmp_path).entries()) == {e.file_id for e in es}
    assert len(Manifest(tmp_path).problems) == 2


def test_checkpoint_race_is_harmless(tmp_path: Path) -> None:
    checkpoints = tmp_path / "_checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / f"{2:020d}.arrow").write_bytes(b"someone else's")
    m = Manifest(tmp_path, checkpoint_every=2)
    m.commit([entry("a.csv.gz")])
    m.commit([entry("b.csv.gz")])  # checkpoint 2 exists: not overwritten, no error
    assert (checkpoints / f"{2:020d}.arrow").read_bytes() == b"someone else's"
    assert m.version == 2


def test_500_commits_open_from_one_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = Manifest(tmp_path)
    for i in range(503):
        m.commit([entry(f"{i % 50}.csv.gz", processed_at_ts_us=i)])
    read = count_reads(monkeypatch)
    reader = Manifest(tmp_path)
    assert reader.version == 503
    assert read == ["00000000000000000500.arrow"] + [f"{v:020d}.arrow" for v in (501, 502, 503)]
    assert reader.entries() == m.entries()
    assert len(reader.entries()) == 50
    assert reader.get(entry("2.csv.gz").file_id).processed_at_ts_us == 502  # type: ignore[union-attr]


def test_the_process_wide_manifest_sees_other_processes_and_a_recreated_lake(
    tmp_path: Path,
) -> None:
    """Lake.manifest() keeps one Manifest per folder and reads only new commit files; a
    commit by another process is seen, and a lake removed and made again is read afresh."""
    import shutil
    import subprocess
    import sys

    from pointline import Lake

    lake = Lake(tmp_path / "lake")
    lake.create()
    assert lake.manifest().entries() == {}
    code = (
        "import sys; from pointline import Lake; from tests_helper import entry; "
        "Lake(sys.argv[1]).manifest().commit([entry(7)])"
    )
    helper = tmp_path / "tests_helper.py"
    helper.write_text(
        "from pointline.manifest import ManifestEntry\n"
        "def entry(i):\n"
        "    return ManifestEntry(file_id=i, vendor='v', data_type='d', bronze_path=f'p{i}',"
        " file_hash='h', file_size_bytes=1, last_modified_ts_us=1, status='pending',"
        " table_name='trades', created_at_ts_us=1, processed_at_ts_us=1,"
        " pointline_version='x')\n"
    )
    subprocess.run([sys.executable, "-c", code, str(lake.root)], cwd=tmp_path, check=True)
    assert list(lake.manifest().entries()) == [7]
    assert lake.manifest() is lake.manifest()
    shutil.rmtree(lake.root)
    lake.create()
    assert lake.manifest().entries() == {}
