"""Tests for pointline.storage: put-if-absent publication and the versioned folder."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pyarrow as pa
import pytest

from pointline.dim_symbol import DimSymbolStore, empty_dim
from pointline.manifest import Manifest
from pointline.storage import VersionedDir, publish_exclusive


def v(version: int, suffix: str = ".arrow") -> str:
    return f"{version:020d}{suffix}"


# ----------------------------------------------------------------- publish_exclusive


def test_publish_exclusive_writes_once_and_leaves_no_temp(tmp_path: Path) -> None:
    assert publish_exclusive(tmp_path, "a", b"first") is True
    assert publish_exclusive(tmp_path, "a", pa.py_buffer(b"second")) is False
    assert (tmp_path / "a").read_bytes() == b"first"
    assert os.listdir(tmp_path) == ["a"]


def test_publish_exclusive_writes_large_buffers_whole(tmp_path: Path) -> None:
    payload = pa.py_buffer(bytes(range(256)) * 40_000)  # ~10 MB
    assert publish_exclusive(tmp_path, "big", payload)
    assert (tmp_path / "big").read_bytes() == payload.to_pybytes()


# ------------------------------------------------------------------------ names


def test_names_are_zero_padded_versions_with_the_suffix(tmp_path: Path) -> None:
    store = VersionedDir(tmp_path / "d", ".parquet")
    assert store.directory == tmp_path / "d"
    assert store.suffix == ".parquet"
    assert store.name_of(7) == "00000000000000000007.parquet"
    assert store.path_of(12) == tmp_path / "d" / "00000000000000000012.parquet"
    assert store.name_of(2**63 - 1) == "09223372036854775807.parquet"  # int64 max fits


# ---------------------------------------------------------------------- listing


def test_missing_folder_has_no_versions(tmp_path: Path) -> None:
    store = VersionedDir(tmp_path / "absent", ".arrow")
    assert store.versions() == []
    assert store.latest() == 0
    assert not (tmp_path / "absent").exists()  # reading creates nothing


def test_latest_of_an_empty_folder_is_zero(tmp_path: Path) -> None:
    store = VersionedDir(tmp_path, ".arrow")
    assert store.versions() == []
    assert store.latest() == 0


def test_versions_ignore_foreign_names_and_temp_files(tmp_path: Path) -> None:
    for name in [
        v(3),
        v(1),
        v(10),
        f".{v(4)}.123.deadbeef.tmp",  # a writer's temp file
        v(5, ".parquet"),  # another store's suffix
        v(6) + ".bak",
        "0000000000000000007.arrow",  # 19 digits
        "000000000000000000008.arrow",  # 21 digits
        "0000000000000000000x.arrow",
        "00000000000000000009xarrow",  # the dot in the suffix is literal
        "notes.txt",
        "_checkpoints",
    ]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    store = VersionedDir(tmp_path, ".arrow")
    assert store.versions() == [1, 3, 10]  # numeric order
    assert store.latest() == 10
    assert VersionedDir(tmp_path, ".parquet").versions() == [5]


def test_a_file_in_place_of_the_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        VersionedDir(tmp_path / "f", ".arrow").versions()


# ---------------------------------------------------------------------- publish


def test_publish_creates_the_folder(tmp_path: Path) -> None:
    store = VersionedDir(tmp_path / "a" / "b", ".arrow")
    assert store.publish(1, b"one")
    assert store.versions() == [1]
    assert store.path_of(1).read_bytes() == b"one"


def test_publish_is_put_if_absent(tmp_path: Path) -> None:
    store = VersionedDir(tmp_path, ".arrow")
    assert store.publish(1, b"first") is True
    assert store.publish(1, b"second") is False
    assert store.path_of(1).read_bytes() == b"first"  # intact
    assert store.publish(2, pa.py_buffer(b"second")) is True
    assert store.versions() == [1, 2]
    assert sorted(os.listdir(tmp_path)) == [v(1), v(2)]  # no temp files left


def test_publish_never_overwrites_a_foreign_file_of_that_name(tmp_path: Path) -> None:
    (tmp_path / v(1)).write_bytes(b"squatter")
    store = VersionedDir(tmp_path, ".arrow")
    assert store.publish(1, b"mine") is False
    assert store.path_of(1).read_bytes() == b"squatter"


def test_racing_publishers_have_one_winner(tmp_path: Path) -> None:
    store = VersionedDir(tmp_path, ".arrow")
    start = threading.Barrier(8)
    results: list[tuple[int, bool]] = []

    def publish(worker: int) -> None:
        start.wait()
        results.append((worker, store.publish(1, f"worker {worker}".encode())))

    threads = [threading.Thread(target=publish, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [worker for worker, won in results if won]
    assert len(results) == 8
    assert len(winners) == 1
    assert store.path_of(1).read_bytes() == f"worker {winners[0]}".encode()
    assert os.listdir(tmp_path) == [v(1)]


# ------------------------------------------------------------- the stores using it


def test_manifest_and_dim_symbol_share_the_layout(tmp_path: Path) -> None:
    """Both stores list versions through VersionedDir, so both ignore the same names."""
    manifest_dir, dim_dir = tmp_path / "manifest", tmp_path / "dim_symbol"
    store = DimSymbolStore(dim_dir)
    assert store.save(empty_dim(), expected_version=0) == 1
    (dim_dir / "junk.parquet").write_bytes(b"")
    (dim_dir / f".{v(2, '.parquet')}.1.ab.tmp").write_bytes(b"")
    assert store.versions() == [1]
    assert store.path_of(1) == VersionedDir(dim_dir, ".parquet").path_of(1)

    manifest = Manifest(manifest_dir)
    assert manifest.version == 0
    (manifest_dir / "_checkpoints").mkdir(parents=True)
    (manifest_dir / "junk.arrow").write_bytes(b"")
    (manifest_dir / "_checkpoints" / "junk.arrow").write_bytes(b"")
    manifest.refresh()
    assert manifest.version == 0
    assert manifest.problems == ()
