"""``pointline bronze import-quant360``: Quant360 7z archives -> immutable Bronze files
(docs/cn.md section 1; ``pointline.archives``, ``pointline.vendors.quant360_archives``).

The five sample archives (``tests/cases/quant360/archives/``, copies of the shared
samples) hold one CSV each; multi-member, conflicting, corrupt and large archives are
made here with py7zr.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from conftest import read_pty

py7zr = pytest.importorskip("py7zr")

from pointline.archives import (  # noqa: E402
    ARCHIVE_SCHEMA,
    MEMBER_SCHEMA,
    ArchiveResult,
    ArchiveStore,
    import_archive,
    import_archives,
    sweep_staging,
)
from pointline.cli import main  # noqa: E402
from pointline.lake import Lake  # noqa: E402
from pointline.locks import FileLock  # noqa: E402
from pointline.vendors.quant360_archives import (  # noqa: E402
    bronze_relative_path,
    describe_archive,
    parse_archive_name,
)

CASES = Path(__file__).resolve().parent / "cases" / "quant360"
ARCHIVES = sorted((CASES / "archives").glob("*.7z"))
EXPECTED = {
    "L2_new_STK_SZ_20240102.7z": ("szse", "L2_new", "000001"),
    "order_new_STK_SH_20240102.7z": ("sse", "order_new", "600000"),
    "order_new_STK_SZ_20240102.7z": ("szse", "order_new", "000001"),
    "tick_new_STK_SH_20240102.7z": ("sse", "tick_new", "600000"),
    "tick_new_STK_SZ_20240102.7z": ("szse", "tick_new", "000001"),
}


def sample_csv(archive: str) -> bytes:
    stem = archive.removesuffix(".7z")
    [csv] = (CASES / stem).glob("*.csv")
    return csv.read_bytes()


def target(lake: Lake, archive: str, code: str) -> Path:
    facts = parse_archive_name(archive)
    return lake.bronze_root / bronze_relative_path(facts.exchange, facts.stream, facts.date, code)


def make_archive(path: Path, members: dict[str, bytes], *, folder: bool = True) -> Path:
    """A 7z at ``path`` holding ``members`` (name inside the archive -> bytes), after a
    folder entry ``<stem>/`` like the vendor's (LZMA2, solid)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stem = path.name.removesuffix(".7z")
    scratch = path.parent / f".{stem}.scratch"
    (scratch / stem).mkdir(parents=True, exist_ok=True)
    filters = [{"id": py7zr.FILTER_LZMA2, "preset": 1}]
    with py7zr.SevenZipFile(path, "w", filters=filters) as archive:
        if folder:
            archive.write(scratch / stem, arcname=stem)
        for name, data in members.items():
            archive.writestr(data, name)
    return path


def new_lake(tmp_path: Path, name: str = "lake") -> Lake:
    lake = Lake(tmp_path / name)
    lake.create()
    return lake


def bronze_files(lake: Lake) -> dict[str, bytes]:
    return {
        p.relative_to(lake.bronze_root).as_posix(): p.read_bytes()
        for p in sorted(lake.bronze_root.rglob("*"))
        if p.is_file()
    }


def staged_files(lake: Lake) -> list[Path]:
    root = lake.archive_staging_root
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def csv_text(code: str, rows: int = 3, *, price: str = "9.39") -> bytes:
    lines = ["ApplSeqNum,Side,OrdType,Price,OrderQty,TransactTime,ChannelNo"]
    lines += [f"{100 + i},1,2,{price},100,2024010209300{i:04d},2011" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


# ------------------------------------------------------------------ the sample archives


def test_samples_publish_each_csv_gzipped_at_its_bronze_path(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    results = import_archives(lake, ARCHIVES, describe=describe_archive)
    assert [r.status for r in results] == ["success"] * 5
    assert [(r.published, r.skipped, r.refused, r.ignored) for r in results] == [(1, 0, 0, 0)] * 5
    expected_paths = {
        f"quant360/exchange={ex}/type={stream}/date=2024-01-02/symbol={code}/{code}.csv.gz"
        for ex, stream, code in EXPECTED.values()
    }
    files = bronze_files(lake)
    assert set(files) == expected_paths
    for result in results:
        exchange, stream, code = EXPECTED[result.archive]
        folder = f"quant360/exchange={exchange}/type={stream}/date=2024-01-02/symbol={code}"
        relative = f"{folder}/{code}.csv.gz"
        data = files[relative]
        assert gzip.decompress(data) == sample_csv(result.archive)  # byte for byte
        # deterministic gzip: no stored name (FNAME flag 0x08 unset), mtime 0
        assert data[:3] == b"\x1f\x8b\x08"
        assert data[3] & 0x08 == 0
        assert data[4:8] == b"\0\0\0\0"
        assert (result.exchange, result.stream, str(result.date)) == (
            exchange,
            stream,
            "2024-01-02",
        )
    # nothing left in staging, no lock left behind
    assert staged_files(lake) == []
    assert list(lake.locks_dir.glob("*.lock")) == []


def test_same_archive_gives_the_same_bronze_bytes_in_another_lake(tmp_path: Path) -> None:
    first, second = new_lake(tmp_path, "a"), new_lake(tmp_path, "b")
    import_archives(first, ARCHIVES, describe=describe_archive)
    import_archives(second, ARCHIVES, describe=describe_archive)
    assert bronze_files(first) == bronze_files(second)


def test_a_second_run_skips_without_opening_and_leaves_bronze_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = new_lake(tmp_path)
    import_archives(lake, ARCHIVES, describe=describe_archive)
    before = bronze_files(lake)
    stats = {p: p.stat().st_mtime_ns for p in lake.bronze_root.rglob("*.csv.gz")}
    versions = [r.version for r in ArchiveStore(lake.archives_dir).records()]

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the archive was opened")

    monkeypatch.setattr("pointline.archives._sha256_file", never)
    monkeypatch.setattr("pointline.archives._extract", never)
    again = import_archives(lake, ARCHIVES, describe=describe_archive)
    assert [r.status for r in again] == ["skipped"] * 5
    assert all("already imported" in (r.message or "") for r in again)
    assert bronze_files(lake) == before
    assert {p: p.stat().st_mtime_ns for p in stats} == stats
    assert [r.version for r in ArchiveStore(lake.archives_dir).records()] == versions


def test_a_copy_with_a_new_mtime_is_known_by_its_hash(tmp_path: Path, monkeypatch: Any) -> None:
    lake = new_lake(tmp_path)
    import_archive(lake, ARCHIVES[0], describe=describe_archive)
    copy = tmp_path / "copy" / ARCHIVES[0].name
    copy.parent.mkdir()
    copy.write_bytes(ARCHIVES[0].read_bytes())
    os.utime(copy, ns=(1, 1))

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the archive was extracted")

    monkeypatch.setattr("pointline.archives._extract", never)
    result = import_archive(lake, copy, describe=describe_archive)
    assert result.status == "skipped"
    assert result.version == 1


def test_the_outcome_record_reads_back(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    results = import_archives(lake, ARCHIVES, describe=describe_archive)
    store = ArchiveStore(lake.archives_dir)
    records = store.records()
    assert [r.version for r in records] == [1, 2, 3, 4, 5]
    for result, record in zip(results, records, strict=True):
        assert record.archive == result.archive
        assert record.status == "success"
        assert record.reason is None
        assert record.archive_bytes == (CASES / "archives" / record.archive).stat().st_size
        assert record.archive_sha256 == result.archive_sha256
        assert len(record.archive_sha256 or "") == 64
        assert (record.published, record.skipped, record.refused, record.ignored) == (1, 0, 0, 0)
        assert record.vendor == "quant360"
        members = store.members_table(record.version or 0)
        assert members.schema.equals(MEMBER_SCHEMA, check_metadata=False)
        [row] = members.to_pylist()
        code = EXPECTED[record.archive][2]
        assert row["code"] == code
        assert row["outcome"] == "published"
        assert row["member"] == f"{record.archive.removesuffix('.7z')}/{code}.csv"
        assert row["csv_bytes"] == len(sample_csv(record.archive))
        assert row["csv_sha256"] == hashlib.sha256(sample_csv(record.archive)).hexdigest()
        assert (
            row["bronze_path"]
            == target(lake, record.archive, code).relative_to(lake.bronze_root).as_posix()
        )
    files = sorted(p.name for p in lake.archives_dir.glob("*.arrow"))
    assert files == [f"{v:020d}.arrow" for v in range(1, 6)]
    with pa.memory_map(str(lake.archives_dir / files[0])) as source:  # plain Arrow IPC
        table = pa.ipc.open_file(source).read_all()
    assert table.schema.equals(ARCHIVE_SCHEMA, check_metadata=False)
    assert table.column("archive").to_pylist() == [results[0].archive]


def test_imported_archives_ingest_end_to_end(tmp_path: Path) -> None:
    """The Bronze paths the import writes are the ones the Quant360 vendor reads."""
    root = str(tmp_path / "lake")
    code, _ = run_cli("--root", root, "bronze", "import-quant360", *map(str, ARCHIVES))
    assert code == 0
    assert run_cli("--root", root, "dim-symbol", "bootstrap")[0] == 0
    code, text = run_cli("--root", root, "ingest", "--json", str(tmp_path / "lake" / "bronze"))
    assert code == 0, text
    rows = {r["bronze_path"]: r for r in map(json.loads, text.splitlines())}
    assert len(rows) == 5
    assert {r["status"] for r in rows.values()} == {"success"}
    l2 = "quant360/exchange=szse/type=L2_new/date=2024-01-02/symbol=000001/000001.csv.gz"
    assert rows[l2]["rows_written"] == 10
    written = sorted(r["rows_written"] for r in rows.values())
    assert written == [10, 25, 28, 30, 32]  # the sample rows, every one


def test_the_streams_agree_with_the_vendor_module() -> None:
    from pointline.vendors import quant360
    from pointline.vendors.quant360_archives import SUPPORTED_STREAMS, VENDOR

    assert dict(SUPPORTED_STREAMS) == dict(quant360.STREAMS)
    assert quant360.VENDOR.name == VENDOR


def test_link_exclusive_never_replaces_a_file(tmp_path: Path) -> None:
    from pointline.storage import link_exclusive

    first, second, target = tmp_path / "a", tmp_path / "b", tmp_path / "t"
    first.write_bytes(b"first")
    second.write_bytes(b"second")
    assert link_exclusive(first, target) is True
    assert link_exclusive(second, target) is False
    assert target.read_bytes() == b"first"
    assert second.read_bytes() == b"second"  # the source stays for the caller


# ------------------------------------------------------------------ refusals and skips


def test_a_changed_member_is_refused_and_bronze_is_untouched(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    name = "order_new_STK_SZ_20240102.7z"
    import_archive(lake, CASES / "archives" / name, describe=describe_archive)
    existing = target(lake, name, "000001")
    before = existing.read_bytes()
    mtime = existing.stat().st_mtime_ns
    changed = sample_csv(name).replace(b"9.390", b"9.400", 1)
    assert changed != sample_csv(name)
    stem = name.removesuffix(".7z")
    other = make_archive(
        tmp_path / "redelivered" / name,
        {f"{stem}/000001.csv": changed, f"{stem}/000002.csv": csv_text("000002")},
    )
    result = import_archive(lake, other, describe=describe_archive)
    assert result.status == "failed"
    assert result.reason == "bronze_conflict"
    assert f"{stem}/000001.csv" in (result.message or "")
    assert existing.relative_to(lake.bronze_root).as_posix() in (result.message or "")
    assert (result.published, result.skipped, result.refused) == (1, 0, 1)
    assert existing.read_bytes() == before
    assert existing.stat().st_mtime_ns == mtime
    # the fine member is published (documented policy)
    assert gzip.decompress(target(lake, name, "000002").read_bytes()) == csv_text("000002")
    # refused again on retry; the original delivery is still "already imported"
    assert import_archive(lake, other, describe=describe_archive).reason == "bronze_conflict"
    assert import_archive(lake, CASES / "archives" / name, describe=describe_archive).status == (
        "skipped"
    )
    assert staged_files(lake) == []


def test_a_bronze_file_without_a_record_is_compared_by_its_content(tmp_path: Path) -> None:
    """A target laid out by hand (no record): the existing gzip is decompressed and
    hashed: same CSV -> skipped, other CSV -> refused; never overwritten."""
    lake = new_lake(tmp_path)
    name = "tick_new_STK_SZ_20240102.7z"
    path = target(lake, name, "000001")
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(sample_csv(name), compresslevel=9))  # other gzip bytes
    same = path.read_bytes()
    result = import_archive(lake, CASES / "archives" / name, describe=describe_archive)
    assert (result.status, result.skipped, result.published) == ("success", 1, 0)
    assert path.read_bytes() == same

    lake2 = new_lake(tmp_path, "lake2")
    path2 = target(lake2, name, "000001")
    path2.parent.mkdir(parents=True)
    path2.write_bytes(gzip.compress(b"something else\n"))
    other = path2.read_bytes()
    result = import_archive(lake2, CASES / "archives" / name, describe=describe_archive)
    assert (result.status, result.reason, result.refused) == ("failed", "bronze_conflict", 1)
    assert path2.read_bytes() == other


def test_a_recorded_hash_is_trusted_only_while_the_size_matches(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    name = "order_new_STK_SH_20240102.7z"
    import_archive(lake, CASES / "archives" / name, describe=describe_archive)
    path = target(lake, name, "600000")
    path.unlink()  # replaced by hand with other content (never do this)
    path.write_bytes(gzip.compress(b"replaced\n"))
    redelivered = tmp_path / "again" / name
    redelivered.parent.mkdir()
    redelivered.write_bytes((CASES / "archives" / name).read_bytes())
    os.utime(redelivered, ns=(5, 5))
    # same archive identity by hash: still "already imported" (not opened)
    assert import_archive(lake, redelivered, describe=describe_archive).status == "skipped"
    stem = name.removesuffix(".7z")
    fresh = make_archive(tmp_path / "fresh" / name, {f"{stem}/600000.csv": sample_csv(name)})
    result = import_archive(lake, fresh, describe=describe_archive)
    assert (result.status, result.reason) == ("failed", "bronze_conflict")


@pytest.mark.parametrize(
    "name",
    ["L2_new_STK_SH_20240102.7z", "L1_new_STK_SZ_20240102.7z", "L1_new_ConFI_SH_20240102.7z"],
)
def test_streams_without_a_table_are_refused_unopened(tmp_path: Path, name: str) -> None:
    lake = new_lake(tmp_path)
    stem = name.removesuffix(".7z")
    archive = make_archive(tmp_path / "in" / name, {f"{stem}/600000.csv": b"a,b\n1,2\n"})
    result = import_archive(lake, archive, describe=describe_archive)
    assert (result.status, result.reason) == ("failed", "unsupported_data_type")
    assert result.archive_sha256 is None  # not even read
    assert bronze_files(lake) == {}
    [record] = ArchiveStore(lake.archives_dir).records()
    assert (record.status, record.reason) == ("failed", "unsupported_data_type")


@pytest.mark.parametrize(
    "name",
    [
        "order_new_STK_SZ_20240102.zip",
        "order_new_STK_SZ_2024010.7z",
        "order_STK_SZ_20240102.7z",
        "order_new_STK_BJ_20240102.7z",
        "order_new_STK_SZ_20241302.7z",
        "order_new_stk_SZ_20240102.7z",
    ],
)
def test_a_bad_archive_name_is_refused_bad_path(tmp_path: Path, name: str) -> None:
    lake = new_lake(tmp_path)
    archive = tmp_path / "in" / name
    archive.parent.mkdir()
    archive.write_bytes((CASES / "archives" / "order_new_STK_SZ_20240102.7z").read_bytes())
    result = import_archive(lake, archive, describe=describe_archive)
    assert (result.status, result.reason) == ("failed", "bad_path")
    assert name in (result.message or "")
    assert bronze_files(lake) == {}


def test_a_confi_archive_lands_in_the_same_layout(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    name = "tick_new_ConFI_SZ_20240102.7z"
    data = csv_text("123456")
    archive = make_archive(tmp_path / "in" / name, {f"{name[:-3]}/123456.csv": data})
    result = import_archive(lake, archive, describe=describe_archive)
    assert (result.status, result.published) == ("success", 1)
    path = lake.bronze_root / (
        "quant360/exchange=szse/type=tick_new/date=2024-01-02/symbol=123456/123456.csv.gz"
    )
    assert gzip.decompress(path.read_bytes()) == data


def test_members_that_are_not_symbol_csvs_are_ignored_and_counted(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    name = "order_new_STK_SZ_20240103.7z"
    stem = name[:-3]
    archive = make_archive(
        tmp_path / "in" / name,
        {
            f"{stem}/000001.csv": csv_text("000001"),
            f"{stem}/readme.txt": b"hello\n",
            f"{stem}/1234.csv": b"a\n",
            "elsewhere/000002.csv": csv_text("000002"),
            f"{stem}/000003.csv": csv_text("000003"),
            f"{stem}/000004.csv": b"",  # an empty member is a (header-less) CSV
        },
    )
    result = import_archive(lake, archive, describe=describe_archive)
    assert result.status == "success"
    assert (result.published, result.skipped, result.refused, result.ignored) == (3, 0, 0, 3)
    ignored = sorted(m.member for m in result.members if m.outcome == "ignored")
    assert ignored == ["elsewhere/000002.csv", f"{stem}/1234.csv", f"{stem}/readme.txt"]
    assert sorted(p.name for p in lake.bronze_root.rglob("*.csv.gz")) == [
        "000001.csv.gz",
        "000003.csv.gz",
        "000004.csv.gz",
    ]
    assert gzip.decompress(next(lake.bronze_root.rglob("000004.csv.gz")).read_bytes()) == b""
    problems = result.to_dict()["problems"]
    assert [p["member"] for p in problems] == [
        m.member for m in result.members if m.outcome == "ignored"
    ]


def test_members_are_published_without_the_close_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """py7zr before 1.1.3 never calls ``Py7zIO.close``: a member is finished when the
    next one starts, the last one after the extraction."""
    monkeypatch.setattr("pointline.archives._MemberWriter.close", lambda self: None)
    lake = new_lake(tmp_path)
    name = "order_new_STK_SZ_20240103.7z"
    members = {f"{name[:-3]}/{i:06d}.csv": csv_text(f"{i:06d}", rows=i) for i in range(1, 5)}
    result = import_archive(lake, make_archive(tmp_path / name, members), describe=describe_archive)
    assert (result.status, result.published) == ("success", 4)
    for member, data in members.items():
        code = member[-10:-4]
        assert gzip.decompress(target(lake, name, code).read_bytes()) == data


# ------------------------------------------------------------------ damage and crashes


def multi_member(tmp_path: Path, name: str = "order_new_STK_SZ_20240104.7z") -> Path:
    rng = np.random.default_rng(7)
    members = {}
    for i in range(1, 5):
        rows = [f"{n},{rng.integers(1, 10**6)}" for n in range(20_000)]
        members[f"{name[:-3]}/{i:06d}.csv"] = ("a,b\n" + "\n".join(rows) + "\n").encode()
    return make_archive(tmp_path / "in" / name, members)


def test_a_truncated_archive_fails_unreadable_with_nothing_visible(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    source = multi_member(tmp_path)
    truncated = tmp_path / "cut" / source.name
    truncated.parent.mkdir()
    truncated.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    result = import_archive(lake, truncated, describe=describe_archive)
    assert (result.status, result.reason) == ("failed", "unreadable_file")
    assert "not a readable 7z archive" in (result.message or "")
    assert bronze_files(lake) == {}
    assert staged_files(lake) == []


def test_a_corrupt_stream_fails_unreadable_and_keeps_only_whole_files(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    source = multi_member(tmp_path)
    data = bytearray(source.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)  # damage inside the LZMA2 stream
    corrupt = tmp_path / "bad" / source.name
    corrupt.parent.mkdir()
    corrupt.write_bytes(bytes(data))
    result = import_archive(lake, corrupt, describe=describe_archive)
    assert (result.status, result.reason) == ("failed", "unreadable_file")
    assert "at member" in (result.message or "")
    with py7zr.SevenZipFile(source) as archive:
        originals = {}
        factory = py7zr.io.BytesIOFactory(limit=10**8)
        archive.extractall(factory=factory)
        for member, product in factory.products.items():
            product.seek(0)
            originals[member[-10:-4]] = product.read()
    for relative, gz in bronze_files(lake).items():  # whatever landed is whole and right
        assert gzip.decompress(gz) == originals[relative[-13:-7]]
    assert result.published == len(bronze_files(lake))
    assert result.published < 4
    assert staged_files(lake) == []


def test_an_error_mid_archive_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pointline import archives

    lake = new_lake(tmp_path)
    source = multi_member(tmp_path)
    real = archives.link_exclusive
    calls = []

    def failing(src: Path, dst: Path) -> bool:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(archives, "link_exclusive", failing)
    result = import_archive(lake, source, describe=describe_archive)
    assert (result.status, result.reason, result.published) == ("failed", "ingest_error", 1)
    assert "No space left" in (result.message or "")
    assert len(bronze_files(lake)) == 1
    assert not [p for p in lake.bronze_root.rglob("*") if p.name.endswith(".tmp")]
    assert staged_files(lake) == []
    monkeypatch.setattr(archives, "link_exclusive", real)
    again = import_archive(lake, source, describe=describe_archive)
    assert (again.status, again.published, again.skipped) == ("success", 3, 1)


CRASH = """
import sys
from pointline.cli import main
sys.exit(main(["--root", sys.argv[1], "bronze", "import-quant360", sys.argv[2]]))
"""


@pytest.mark.parametrize(
    ("point", "visible"), [("archive_member_staged", 0), ("archive_member_published", 1)]
)
def test_a_crash_mid_archive_leaves_no_partial_bronze_file(
    tmp_path: Path, point: str, visible: int
) -> None:
    lake = new_lake(tmp_path)
    source = multi_member(tmp_path)
    env = {**os.environ, "POINTLINE_FAULT": point}
    done = subprocess.run(
        [sys.executable, "-c", CRASH, str(lake.root), str(source)],
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 137, done.stderr
    files = bronze_files(lake)
    assert len(files) == visible
    for gz in files.values():
        gzip.decompress(gz)  # whole
    assert not [p for p in lake.bronze_root.rglob("*") if p.is_file() and p.suffix != ".gz"]
    assert any(lake.archive_staging_root.iterdir())  # the crash left its scratch, outside bronze/
    assert ArchiveStore(lake.archives_dir).records() == []  # nothing recorded
    code, text = run_cli("--root", str(lake.root), "bronze", "import-quant360", str(source))
    assert code == 0, text
    assert f"success: {4 - visible} published, {visible} skipped" in text
    assert staged_files(lake) == []
    assert list(lake.archive_staging_root.iterdir()) == []


def test_sweep_removes_only_abandoned_staging(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    abandoned = lake.archive_staging_root / "quant360-archive-order_new_STK_SZ_20240102-dead"
    live = lake.archive_staging_root / "quant360-archive-tick_new_STK_SZ_20240102-beef"
    for folder in (abandoned, live):
        folder.mkdir(parents=True)
        (folder / "0-000001.csv.gz.tmp").write_bytes(b"x")
    with FileLock(lake.locks_dir, "quant360-archive-tick_new_STK_SZ_20240102") as held:
        assert held
        assert sweep_staging(lake) == 1
        assert not abandoned.exists()
        assert live.exists()
        result = import_archive(
            lake, CASES / "archives" / "tick_new_STK_SZ_20240102.7z", describe=describe_archive
        )
        assert (result.status, result.reason) == ("skipped", "in_progress")
    assert sweep_staging(lake) == 1


def test_archive_staging_does_not_disturb_other_commands(tmp_path: Path) -> None:
    """The ingest staging sweep (run before every command) ignores archive scratch."""
    lake = new_lake(tmp_path)
    (lake.archive_staging_root / "quant360-archive-x-1").mkdir(parents=True)
    code, _ = run_cli("--root", str(lake.root), "manifest")
    assert code == 0
    assert (lake.archive_staging_root / "quant360-archive-x-1").exists()


# ------------------------------------------------------------------ the command line


def test_cli_summary_lines_and_exit_codes(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    code, text = run_cli("--root", str(root), "bronze", "import-quant360", *map(str, ARCHIVES))
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == (
        "L2_new_STK_SZ_20240102.7z: success: 1 published, 0 skipped, 0 refused, 0 ignored"
    )
    assert lines[-1] == "5 archives: 5 success"
    bad = tmp_path / "L1_new_STK_SZ_20240102.7z"
    bad.write_bytes(b"not even 7z")
    code, text = run_cli(
        "--root", str(root), "bronze", "import-quant360", str(ARCHIVES[0]), str(bad)
    )
    assert code == 2
    assert "L2_new_STK_SZ_20240102.7z: skipped" in text
    assert "unsupported_data_type" in text
    assert text.splitlines()[-1] == "2 archives: 1 failed, 1 skipped"
    code, _ = run_cli("--root", str(root), "bronze", "import-quant360", str(tmp_path / "no.7z"))
    assert code == 1


def test_cli_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "lake"
    name = "order_new_STK_SZ_20240103.7z"
    archive = make_archive(
        tmp_path / name,
        {f"{name[:-3]}/000001.csv": csv_text("000001"), f"{name[:-3]}/notes.txt": b"x"},
    )
    code, text = run_cli(
        "--root", str(root), "bronze", "import-quant360", "--json", str(archive), str(ARCHIVES[0])
    )
    assert code == 0
    rows = [json.loads(line) for line in text.splitlines()]
    assert [r["archive"] for r in rows] == [name, ARCHIVES[0].name]
    assert rows[0]["status"] == "success"
    assert (rows[0]["published"], rows[0]["ignored"]) == (1, 1)
    assert rows[0]["problems"][0]["member"] == f"{name[:-3]}/notes.txt"
    assert rows[0]["version"] == 1
    assert rows[0]["date"] == "2024-01-03"
    assert len(rows[0]["archive_sha256"]) == 64
    assert capsys.readouterr().err == ""  # no progress bar with --json (and not a TTY)


def test_cli_without_py7zr_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "py7zr", None)  # import py7zr -> ImportError
    code, text = run_cli(
        "--root", str(tmp_path / "lake"), "bronze", "import-quant360", str(ARCHIVES[0])
    )
    assert code == 1
    assert "pip install 'pointline[cn]'" in capsys.readouterr().err
    assert text == ""


def test_the_progress_bar_moves_on_a_terminal(tmp_path: Path) -> None:
    name = "order_new_STK_SZ_20240106.7z"
    members = {f"{name[:-3]}/{i:06d}.csv": csv_text(f"{i:06d}", rows=200) for i in range(1, 201)}
    archive = make_archive(tmp_path / name, members)
    root = tmp_path / "lake"
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdout and stderr are the terminal, 120 x 24
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
        argv = [sys.executable, "-m", "pointline", "--root", str(root), "bronze"]
        os.execv(sys.executable, [*argv, "import-quant360", str(archive)])
    seen, status = read_pty(fd, pid)
    text = seen.decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 0, text[-2000:]
    assert re.search(rf"{re.escape(name)}:\s+\d+%", text), text[-2000:]  # the bar
    assert "/200 [" in text  # over the members
    assert f"{name}: success: 200 published" in text
    assert "1 archive: 1 success" in text
    # Piped (no terminal): no bar at all.
    done = subprocess.run(
        [sys.executable, "-m", "pointline", "--root", str(root), "bronze", "import-quant360",
         str(archive)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert "skipped" in done.stdout


def test_with_members_counts_each_outcome() -> None:
    from pointline.archives import MemberResult

    base = ArchiveResult(
        archive="a.7z", source_path="a.7z", status="success", archive_bytes=1, archive_mtime_ns=1
    )
    outcomes = ["published", "published", "skipped", "refused", "ignored", "ignored", "ignored"]
    result = base.with_members(
        MemberResult(member=str(i), outcome=o)  # type: ignore[arg-type]
        for i, o in enumerate(outcomes)
    )
    assert (result.published, result.skipped, result.refused, result.ignored) == (2, 1, 1, 3)
    assert [p["member"] for p in result.to_dict()["problems"]] == ["3", "4", "5", "6"]


# ------------------------------------------------------------------ memory

MEMORY = """
import gc, json, resource, sys
from pathlib import Path
import py7zr
from pointline.archives import ArchiveStore, import_archive
from pointline.lake import Lake
from pointline.vendors.quant360_archives import describe_archive

def peak():
    # VmHWM: this process's own peak. Linux carries ru_maxrss over exec from the parent,
    # so a child of a big pytest process would report the parent's peak (test_memory.py).
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

lake = Lake(Path(sys.argv[1]))
lake.create()
ArchiveStore(lake.archives_dir).records()
gc.collect()
before = peak()
result = import_archive(lake, sys.argv[2], describe=describe_archive)
after = peak()
print(json.dumps({"status": result.status, "published": result.published,
                  "before": before, "growth": after - before}))
"""


def big_members(name: str) -> dict[str, bytes]:
    """One ~50 MB member and three of ~10 MB: rows drawn from a pool of distinct CSV rows
    (fast to make, compresses about 3:1 like market data)."""
    rng = np.random.default_rng(3)
    rows = [
        f"{rng.integers(1, 10**9)},{rng.integers(900, 1000) / 100:.2f},"
        f"{rng.integers(1, 100) * 100},2024010209{rng.integers(0, 10**7):07d}"
        for _ in range(5_000)
    ]
    width = max(map(len, rows)) + 1
    pool = np.frombuffer(
        "".join(r.ljust(width - 1) + "\n" for r in rows).encode(), dtype=np.uint8
    ).reshape(len(rows), width)
    header = b"ApplSeqNum,Price,Qty,TransactTime\n"
    sizes = [50_000_000, 10_000_000, 10_000_000, 10_000_000]
    return {
        f"{name[:-3]}/{i + 1:06d}.csv": header
        + pool[rng.integers(0, len(rows), size // width)].tobytes()
        for i, size in enumerate(sizes)
    }


@pytest.mark.skipif(sys.platform == "win32", reason="resource is POSIX only")
def test_memory_is_bounded_by_a_chunk_not_the_archive(tmp_path: Path) -> None:
    name = "order_new_STK_SZ_20240105.7z"
    members = big_members(name)
    total = sum(map(len, members.values()))
    biggest = max(map(len, members.values()))
    archive = tmp_path / name
    with py7zr.SevenZipFile(archive, "w", filters=[{"id": py7zr.FILTER_LZMA2, "preset": 0}]) as z:
        for member, data in members.items():
            z.writestr(data, member)
    del members
    done = subprocess.run(
        [sys.executable, "-c", MEMORY, str(tmp_path / "lake"), str(archive)],
        capture_output=True,
        check=True,
        text=True,
    )
    measured = json.loads(done.stdout)
    assert (measured["status"], measured["published"]) == ("success", 4)
    assert measured["growth"] > 0, measured  # measured at all
    # Measured: ~20 MiB growth for 80 MB uncompressed (the 1 MiB compressed
    # block's output, a copy or two of it, the LZMA2 dictionary).
    assert measured["growth"] < total / 2, measured
    assert measured["growth"] < biggest, measured
