"""Exchange registrations stored in the lake: versions, refusals, races, other processes."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import ipc

from operators.tz_partition import tz_partition
from pointline import Lake, read
from pointline.bootstrap import bootstrap_dim_symbol
from pointline.bronze import BronzeFileMetadata
from pointline.chain import Chain
from pointline.errors import PointlineError, SchemaError, UnknownExchangeError
from pointline.exchange_store import (
    STORE_SCHEMA,
    ExchangeChangeRefusedError,
    ExchangeConflictError,
    ExchangeStore,
    ExchangeStoreError,
    format_session_roll,
    parse_session_roll,
)
from pointline.exchanges import DEFAULT_EXCHANGES, Exchange, ExchangeRegistry
from pointline.ingest import ingest_file
from pointline.testing import collect
from pointline.testing.tardis import write_tardis_file

CME = Exchange(name="cme", timezone="America/Chicago", session_roll=datetime.time(17))
ROLL_22_UTC = 1_727_733_600_000_000  # 2024-09-30T22:00Z = 17:00 in Chicago (CDT)


def make_store(root: Path) -> ExchangeStore:
    return ExchangeStore(root / "_pointline" / "exchanges", root / "silver")


def add_rows(root: Path, exchange: str, table: str = "trades") -> Path:
    """A Silver file of ``exchange``, as ingest publishes one."""
    path = root / f"silver/{table}/exchange={exchange}/trading_date=2024-09-30/123-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"ts_event_us": pa.array([1], pa.int64())}), path)
    return path


def stored_rows(store: ExchangeStore, version: int) -> list[dict[str, object]]:
    with pa.memory_map(str(store.directory / f"{version:020d}.arrow")) as source:
        table = ipc.open_file(source).read_all()
    assert table.schema.equals(STORE_SCHEMA, check_metadata=True)
    rows = table.to_pylist()
    for row in rows:
        assert isinstance(row.pop("registered_at_ts_us"), int)
    return rows


@pytest.fixture
def store(tmp_path: Path) -> ExchangeStore:
    return make_store(tmp_path)


def test_an_empty_store_has_nothing_and_creates_nothing(store: ExchangeStore) -> None:
    assert store.load() == {}
    assert store.registrations() == {}
    assert store.latest_version() == 0
    assert store.registry(DEFAULT_EXCHANGES) is DEFAULT_EXCHANGES
    assert not store.directory.exists()


def test_register_writes_one_version_with_the_registration(store: ExchangeStore) -> None:
    assert store.register(CME) is True
    assert store.directory.name == "exchanges"
    assert sorted(p.name for p in store.directory.iterdir()) == ["00000000000000000001.arrow"]
    assert stored_rows(store, 1) == [
        {"name": "cme", "timezone": "America/Chicago", "session_roll": "17:00", "source": "user"}
    ]
    assert store.load() == {"cme": CME}
    (registration,) = store.registrations().values()
    assert (registration.exchange, registration.source) == (CME, "user")
    registry = store.registry(DEFAULT_EXCHANGES)
    assert registry.get("cme") == CME
    assert registry.get("binance") == DEFAULT_EXCHANGES.get("binance")
    assert len(registry) == len(DEFAULT_EXCHANGES) + 1
    assert "cme" not in DEFAULT_EXCHANGES  # the base is unchanged


def test_registering_the_same_twice_writes_one_version(store: ExchangeStore) -> None:
    assert store.register(CME) is True
    assert store.register(CME) is False
    same = Exchange(name="cme", timezone="America/Chicago", session_roll=datetime.time(17, 0))
    assert store.register(same) is False
    assert store.latest_version() == 1
    assert len(list(store.directory.iterdir())) == 1


def test_registering_what_the_base_already_says_writes_nothing(store: ExchangeStore) -> None:
    assert store.register(Exchange(name="binance", timezone="UTC")) is False
    assert store.register(Exchange(name="szse", timezone="Asia/Shanghai")) is False
    assert store.latest_version() == 0


def test_versions_hold_every_registration_sorted(store: ExchangeStore) -> None:
    assert store.register(CME)
    assert store.register(Exchange(name="aster-futures", timezone="UTC"))
    assert store.latest_version() == 2
    assert [row["name"] for row in stored_rows(store, 2)] == ["aster-futures", "cme"]
    assert [row["name"] for row in stored_rows(store, 1)] == ["cme"]  # never rewritten
    assert list(store.load()) == ["aster-futures", "cme"]


ROUND_TRIP = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from pointline.exchange_store import ExchangeStore
    from pointline.exchanges import DEFAULT_EXCHANGES
    root = Path(sys.argv[1])
    store = ExchangeStore(root / "_pointline" / "exchanges", root / "silver")
    registry = store.registry(DEFAULT_EXCHANGES)
    out = {}
    for name in ("cme", "mexc-futures"):
        venue = registry.get(name)
        roll = venue.session_roll
        out[name] = [venue.timezone, None if roll is None else roll.isoformat()]
    out["sources"] = {n: r.source for n, r in store.registrations().items()}
    print(json.dumps(out))
    """
)


def test_a_fresh_process_sees_the_registrations(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    assert store.register(CME)
    assert store.record_default("mexc-futures", "UTC")
    result = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == {
        "cme": ["America/Chicago", "17:00:00"],
        "mexc-futures": ["UTC", None],
        "sources": {"cme": "user", "mexc-futures": "vendor_default"},
    }


def test_a_stored_session_roll_cuts_the_next_trading_date_at_the_roll(
    store: ExchangeStore,
) -> None:
    assert store.register(CME)
    schema = pa.schema([pa.field("exchange", pa.string()), pa.field("ts_event_us", pa.int64())])
    ts = [ROLL_22_UTC - 1, ROLL_22_UTC, ROLL_22_UTC + 3_600_000_000]
    batch = pa.record_batch([pa.array(["cme"] * 3), pa.array(ts, pa.int64())], schema=schema)
    step = tz_partition(exchanges=store.registry(DEFAULT_EXCHANGES), default_timezone="UTC")
    got = collect(Chain([step], input_schema=schema).run([batch]))["trading_date"]
    assert got.to_pylist() == [
        datetime.date(2024, 9, 30),  # 16:59:59.999999 local
        datetime.date(2024, 10, 1),  # 17:00 local: the next trading date
        datetime.date(2024, 10, 1),
    ]


# -- refusing changes that would move rows between partitions ----------------------------


def test_a_zone_change_is_refused_when_the_exchange_has_silver_rows(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    tokyo = Exchange(name="tokyo-x", timezone="Asia/Tokyo")
    assert store.register(tokyo)
    add_rows(tmp_path, "tokyo-x")
    with pytest.raises(ExchangeChangeRefusedError) as info:
        store.register(Exchange(name="tokyo-x", timezone="UTC"))
    assert info.value.message == (
        "refusing to change exchange 'tokyo-x' from Asia/Tokyo, session roll none (stored in "
        "the lake (user)) to UTC, session roll none: the lake already has Silver rows for it "
        "(e.g. silver/trades/exchange=tokyo-x/trading_date=2024-09-30/123-0.parquet), cut "
        "into trading_date partitions with the current definition, and the change would "
        "move rows between trading_date partitions; keep the current definition"
    )
    assert isinstance(info.value, PointlineError)
    assert isinstance(info.value, ValueError)
    assert store.latest_version() == 1
    assert store.load() == {"tokyo-x": tokyo}
    assert store.register(tokyo) is False  # the same definition is still fine


def test_a_zone_change_is_allowed_without_silver_rows(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    assert store.register(Exchange(name="tokyo-x", timezone="Asia/Tokyo"))
    add_rows(tmp_path, "other-x")  # rows of another exchange do not count
    (tmp_path / "silver/trades/exchange=tokyo-x/trading_date=2024-09-30").mkdir(parents=True)
    utc = Exchange(name="tokyo-x", timezone="UTC")
    assert store.register(utc) is True  # an empty partition folder holds no rows
    assert store.latest_version() == 2
    assert store.load() == {"tokyo-x": utc}


def test_a_session_roll_change_is_refused_when_the_exchange_has_silver_rows(
    tmp_path: Path,
) -> None:
    store = make_store(tmp_path)
    assert store.register(CME)
    add_rows(tmp_path, "cme", table="quotes")
    for roll in (datetime.time(18), None):
        changed = Exchange(name="cme", timezone="America/Chicago", session_roll=roll)
        with pytest.raises(
            ExchangeChangeRefusedError,
            match=(
                r"^refusing to change exchange 'cme' from America/Chicago, session roll 17:00 "
                r"\(stored in the lake \(user\)\) to America/Chicago, session roll "
                rf"{'18:00' if roll else 'none'}: .*exchange=cme/.* would move rows between "
                r"trading_date partitions"
            ),
        ):
            store.register(changed)
    assert store.load() == {"cme": CME}


def test_a_session_roll_change_is_allowed_without_silver_rows(store: ExchangeStore) -> None:
    assert store.register(CME)
    later = Exchange(name="cme", timezone="America/Chicago", session_roll=datetime.time(18))
    assert store.register(later) is True
    assert store.load() == {"cme": later}


def test_a_builtin_exchange_with_rows_keeps_its_builtin_zone(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    add_rows(tmp_path, "binance")
    with pytest.raises(
        ExchangeChangeRefusedError,
        match=(
            r"from UTC, session roll none \(the registry's built-in definition\) to "
            r"Asia/Tokyo, session roll none"
        ),
    ):
        store.register(Exchange(name="binance", timezone="Asia/Tokyo"))
    assert store.latest_version() == 0
    # without rows the built-in definition can be overridden, and the store wins after
    other = make_store(tmp_path / "other")
    assert other.register(Exchange(name="binance", timezone="Asia/Tokyo"))
    assert other.registry(DEFAULT_EXCHANGES).get("binance").timezone == "Asia/Tokyo"


def test_an_exchange_with_rows_but_no_zone_anywhere_can_be_registered(tmp_path: Path) -> None:
    """The remedy for rows ingested with a Python-only registration: nothing to change."""
    store = make_store(tmp_path)
    add_rows(tmp_path, "tokyo-x")
    assert store.register(Exchange(name="tokyo-x", timezone="Asia/Tokyo")) is True
    assert store.load()["tokyo-x"].timezone == "Asia/Tokyo"


# -- vendor defaults recorded by ingest ---------------------------------------------------


def test_record_default_writes_once_and_only_for_unknown_names(store: ExchangeStore) -> None:
    assert store.record_default("mexc-futures", "UTC") is True
    assert store.record_default("mexc-futures", "UTC") is False
    assert store.record_default("mexc-futures", "Asia/Tokyo") is False  # stored: kept
    assert store.record_default("binance", "UTC") is False  # in the base registry
    assert store.latest_version() == 1
    assert stored_rows(store, 1) == [
        {
            "name": "mexc-futures",
            "timezone": "UTC",
            "session_roll": None,
            "source": "vendor_default",
        }
    ]
    registry = DEFAULT_EXCHANGES.register("tokyo-x", timezone="Asia/Tokyo")
    assert store.record_default("tokyo-x", "UTC", base=registry) is False
    with pytest.raises(SchemaError, match="unknown time zone 'Mars/Base'"):
        store.record_default("aster-futures", "Mars/Base")
    assert store.latest_version() == 1


def test_register_after_record_default_with_another_zone_is_refused_with_rows(
    tmp_path: Path,
) -> None:
    store = make_store(tmp_path)
    assert store.record_default("mexc-futures", "UTC")
    add_rows(tmp_path, "mexc-futures")
    with pytest.raises(
        ExchangeChangeRefusedError,
        match=(
            r"^refusing to change exchange 'mexc-futures' from UTC, session roll none \(stored "
            r"in the lake \(vendor_default\)\) to Asia/Singapore, session roll none: "
        ),
    ):
        store.register(Exchange(name="mexc-futures", timezone="Asia/Singapore"))
    assert store.latest_version() == 1


def test_register_after_record_default_without_rows_is_allowed(store: ExchangeStore) -> None:
    assert store.record_default("mexc-futures", "UTC")
    assert store.register(Exchange(name="mexc-futures", timezone="Asia/Singapore"))
    (registration,) = store.registrations().values()
    assert (registration.exchange.timezone, registration.source) == ("Asia/Singapore", "user")


def test_a_user_confirming_a_vendor_default_moves_its_source(store: ExchangeStore) -> None:
    assert store.record_default("mexc-futures", "UTC")
    utc = Exchange(name="mexc-futures", timezone="UTC")
    assert store.register(utc, source="vendor_default") is False
    assert store.register(utc) is True  # now the user's
    assert store.registrations()["mexc-futures"].source == "user"
    assert store.register(utc) is False
    assert store.register(utc, source="vendor_default") is False  # never downgraded
    assert store.latest_version() == 2


# -- the registry a caller passes vs the stored registrations -----------------------------


def test_registry_rejects_a_caller_definition_that_contradicts_the_lake(
    store: ExchangeStore,
) -> None:
    assert store.register(Exchange(name="tokyo-x", timezone="Asia/Tokyo"))
    agreeing = DEFAULT_EXCHANGES.register("tokyo-x", timezone="Asia/Tokyo")
    assert store.registry(agreeing) == agreeing
    contradicting = DEFAULT_EXCHANGES.register("tokyo-x", timezone="UTC")
    with pytest.raises(
        ExchangeConflictError,
        match=(
            r"exchange 'tokyo-x' is stored in the lake as Asia/Tokyo, session roll none but "
            r"the registry passed in defines it as UTC, session roll none"
        ),
    ):
        store.registry(contradicting)


# -- input checks and damaged files -------------------------------------------------------


def test_session_rolls_are_stored_as_whole_minutes(store: ExchangeStore) -> None:
    assert parse_session_roll("17:00") == datetime.time(17)
    assert parse_session_roll("09:30") == datetime.time(9, 30)
    assert parse_session_roll("00:00") is None
    assert parse_session_roll(None) is None
    for bad in ("17", "24:00", "7:00", "17:00:00", "17:60", " 17:00"):
        with pytest.raises(SchemaError, match=r"session roll must be HH:MM local wall time"):
            parse_session_roll(bad)
    assert format_session_roll(datetime.time(6, 5)) == "06:05"
    assert format_session_roll(datetime.time(0)) is None
    odd = Exchange(name="x", timezone="UTC", session_roll=datetime.time(17, 0, 30))
    with pytest.raises(SchemaError, match=r"session roll 17:00:30 cannot be stored"):
        store.register(odd)
    midnight = Exchange(name="x", timezone="Asia/Tokyo", session_roll=datetime.time(0))
    assert store.register(midnight)
    assert store.load()["x"] == Exchange(name="x", timezone="Asia/Tokyo")
    assert store.register(Exchange(name="x", timezone="Asia/Tokyo")) is False
    with pytest.raises(SchemaError, match=r"source must be one of \['user', 'vendor_default'\]"):
        store.register(CME, source="cli")  # type: ignore[arg-type]
    assert store.latest_version() == 1


def test_a_damaged_version_is_a_clear_error(store: ExchangeStore) -> None:
    assert store.register(CME)
    store.directory.joinpath("00000000000000000002.arrow").write_bytes(b"not arrow")
    with pytest.raises(ExchangeStoreError, match=r"cannot read exchange registrations version 2"):
        store.load()
    bad = pa.table({"name": ["x"]})
    sink = pa.BufferOutputStream()
    with ipc.new_file(sink, bad.schema) as writer:
        writer.write_table(bad)
    store.directory.joinpath("00000000000000000003.arrow").write_bytes(sink.getvalue())
    with pytest.raises(ExchangeStoreError, match=r"version 3 has columns \['name'\]"):
        store.registry(DEFAULT_EXCHANGES)


def test_foreign_files_in_the_folder_are_ignored(store: ExchangeStore) -> None:
    store.directory.mkdir(parents=True)
    (store.directory / ".00000000000000000001.arrow.1.ab.tmp").write_bytes(b"half")
    (store.directory / "notes.txt").write_text("hi")
    assert store.load() == {}
    assert store.register(CME)
    assert store.latest_version() == 1


# -- concurrent writers -------------------------------------------------------------------


def test_a_lost_race_rereads_and_keeps_both_registrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, rival = make_store(tmp_path), make_store(tmp_path)
    read = ExchangeStore._read
    raced: list[bool] = []

    def racing_read(self: ExchangeStore) -> object:
        state = read(self)
        if self is store and not raced:  # the rival publishes between our read and write
            raced.append(True)
            assert rival.register(Exchange(name="aster-futures", timezone="UTC"))
        return state

    monkeypatch.setattr(ExchangeStore, "_read", racing_read)
    assert store.register(CME) is True
    assert raced == [True]
    assert store.latest_version() == 2
    assert [row["name"] for row in stored_rows(store, 1)] == ["aster-futures"]
    assert list(store.load()) == ["aster-futures", "cme"]


def test_a_lost_race_to_the_same_registration_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, rival = make_store(tmp_path), make_store(tmp_path)
    read = ExchangeStore._read
    raced: list[bool] = []

    def racing_read(self: ExchangeStore) -> object:
        state = read(self)
        if self is store and not raced:
            raced.append(True)
            assert rival.record_default("mexc-futures", "UTC")
        return state

    monkeypatch.setattr(ExchangeStore, "_read", racing_read)
    assert store.record_default("mexc-futures", "UTC") is False
    assert store.latest_version() == 1


def test_a_lost_race_against_a_zone_change_is_decided_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our write assumed no current zone; the rival's registration makes it a change."""
    store, rival = make_store(tmp_path), make_store(tmp_path)
    add_rows(tmp_path, "tokyo-x")
    read = ExchangeStore._read
    raced: list[bool] = []

    def racing_read(self: ExchangeStore) -> object:
        state = read(self)
        if self is store and not raced:
            raced.append(True)
            assert rival.register(Exchange(name="tokyo-x", timezone="Asia/Tokyo"))
        return state

    monkeypatch.setattr(ExchangeStore, "_read", racing_read)
    with pytest.raises(ExchangeChangeRefusedError, match=r"from Asia/Tokyo"):
        store.register(Exchange(name="tokyo-x", timezone="UTC"))
    assert store.load()["tokyo-x"].timezone == "Asia/Tokyo"


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pointline.exchange_store import ExchangeStore
    from pointline.exchanges import Exchange
    root, who = Path(sys.argv[1]), sys.argv[2]
    store = ExchangeStore(root / "_pointline" / "exchanges", root / "silver")
    for i in range(5):
        store.register(Exchange(name=f"x{who}-{i}", timezone="UTC"))
        store.record_default("shared", "UTC")
    """
)


def test_concurrent_processes_lose_no_registration(tmp_path: Path) -> None:
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(who)])
        for who in range(6)
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0] * 6
    store = make_store(tmp_path)
    expected = {f"x{who}-{i}" for who in range(6) for i in range(5)} | {"shared"}
    assert set(store.load()) == expected
    assert store.registrations()["shared"].source == "vendor_default"
    versions = sorted(int(p.name[:20]) for p in store.directory.glob("*.arrow"))
    assert versions == list(range(1, len(expected) + 1))  # one version per new name


def test_unknown_exchange_error_is_still_the_unregistered_case(store: ExchangeStore) -> None:
    with pytest.raises(UnknownExchangeError, match="pointline exchange add nowhere"):
        store.registry(DEFAULT_EXCHANGES).get("nowhere")


# -- read() finds the zone through the stored registrations -------------------------------

TOKYO_MIDNIGHT = 1_727_622_000_000_000  # 2024-09-30T00:00:00+09:00


def ingest_lake(root: Path, exchange: str, registry: ExchangeRegistry) -> None:
    """Bronze files of ``exchange`` spanning Tokyo midnight, ingested with ``registry``
    (a registration that lives only in this Python process)."""
    folder = root / f"bronze/tardis/exchange={exchange}/type=trades/date=2024-09-29"
    write_tardis_file(folder / "a.csv.gz", "trades", rows=400, exchange=exchange,
                      start_us=TOKYO_MIDNIGHT - 200_000)  # fmt: skip
    lake = Lake(root, exchanges=registry)
    bootstrap_dim_symbol(lake)
    for path in sorted(lake.bronze_root.rglob("*.csv.gz")):
        meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)
        assert ingest_file(meta, lake=lake).status == "success"


def test_read_in_a_fresh_lake_object_uses_the_stored_registration(tmp_path: Path) -> None:
    tokyo = DEFAULT_EXCHANGES.register("tokyo-x", timezone="Asia/Tokyo")
    ingest_lake(tmp_path, "tokyo-x", tokyo)
    days = sorted(p.name for p in tmp_path.glob("silver/trades/exchange=tokyo-x/*"))
    assert days == ["trading_date=2024-09-29", "trading_date=2024-09-30"]
    # Observed: after a Python-only registration, `read` in another process failed. Now
    # ingest stores the registration it cut the rows with, so a fresh Lake reads them.
    stored = make_store(tmp_path).registrations()["tokyo-x"]
    assert (stored.exchange.timezone, stored.source) == ("Asia/Tokyo", "user")
    assert read(Lake(tmp_path), "trades", exchange="tokyo-x").read_all().num_rows == 400
    # A lake whose registration is gone (written before registrations were stored): rows
    # exist but no zone anywhere -> a clear error, never a guess.
    shutil.rmtree(tmp_path / "_pointline" / "exchanges")
    with pytest.raises(
        UnknownExchangeError,
        match=(
            r"^exchange 'tokyo-x' has Silver rows \(silver/trades/exchange=tokyo-x/"
            r"trading_date=2024-09-\d\d/\d+-0\.parquet\) but no time zone: it is not in the "
            r"lake's registry and no registration is stored in the lake; register the zone "
            r"its rows were cut in with `pointline exchange add tokyo-x --timezone TZ` "
            r"\(Tardis: UTC\)$"
        ),
    ):
        read(Lake(tmp_path), "trades", exchange="tokyo-x")
    assert make_store(tmp_path).register(Exchange(name="tokyo-x", timezone="Asia/Tokyo"))
    want = read(Lake(tmp_path, exchanges=tokyo), "trades", exchange="tokyo-x").read_all()
    got = read(Lake(tmp_path), "trades", exchange="tokyo-x").read_all()
    assert got.num_rows == want.num_rows == 400
    assert got.equals(want)
    # a window just after Tokyo midnight prunes to the right partitions
    window = read(tmp_path, "trades", exchange="tokyo-x", start_us=TOKYO_MIDNIGHT,
                  end_us=TOKYO_MIDNIGHT + 1_000_000).read_all()  # fmt: skip
    assert window.num_rows > 0
    assert set(window.column("trading_date").to_pylist()) == {datetime.date(2024, 9, 30)}
    # a caller registry that contradicts the lake is an error, not a silent pick
    utc = DEFAULT_EXCHANGES.register("tokyo-x", timezone="UTC")
    with pytest.raises(ExchangeConflictError, match="stored in the lake as Asia/Tokyo"):
        read(Lake(tmp_path, exchanges=utc), "trades", exchange="tokyo-x")


def test_read_of_a_recorded_vendor_default_exchange(tmp_path: Path) -> None:
    # an id no registry knows ingests in the vendor's zone (Tardis: UTC), recorded
    ingest_lake(tmp_path, "mexc-futures", DEFAULT_EXCHANGES)
    stored = make_store(tmp_path).registrations()["mexc-futures"]
    assert (stored.exchange.timezone, stored.source) == ("UTC", "vendor_default")
    assert not make_store(tmp_path).record_default("mexc-futures", "UTC")  # already there
    got = read(Lake(tmp_path), "trades", exchange="mexc-futures").read_all()
    assert got.num_rows == 400
    assert set(got.column("trading_date").to_pylist()) == {datetime.date(2024, 9, 29)}


def test_read_of_an_exchange_with_no_rows_and_no_zone_is_unknown(tmp_path: Path) -> None:
    with pytest.raises(
        UnknownExchangeError,
        match=r"^unknown exchange 'nowhere'; .*`pointline exchange add nowhere --timezone TZ`",
    ):
        read(tmp_path, "trades", exchange="nowhere")


# -- what ingest calls before its chain runs ----------------------------------------------


def test_ingest_registry_records_the_vendor_default_of_an_unknown_id(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    registry = store.ingest_registry("mexc-futures", default_timezone="UTC")
    assert registry.get("mexc-futures") == Exchange(name="mexc-futures", timezone="UTC")
    assert store.registrations()["mexc-futures"].source == "vendor_default"
    assert store.ingest_registry("mexc-futures", default_timezone="UTC") == registry
    assert store.ingest_registry("binance", default_timezone="UTC") == registry
    assert store.latest_version() == 1  # built-ins and known ids write nothing
    with pytest.raises(UnknownExchangeError, match="pointline exchange add aster-futures"):
        store.ingest_registry("aster-futures")
    assert store.latest_version() == 1


def test_ingest_registry_stores_a_python_only_registration(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    tokyo = DEFAULT_EXCHANGES.register("tokyo-x", timezone="Asia/Tokyo")
    assert store.ingest_registry("tokyo-x", base=tokyo, default_timezone="UTC") == tokyo
    assert store.registrations()["tokyo-x"].source == "user"
    assert store.registry(DEFAULT_EXCHANGES).get("tokyo-x").timezone == "Asia/Tokyo"
    utc = DEFAULT_EXCHANGES.register("tokyo-x", timezone="UTC")
    with pytest.raises(ExchangeConflictError, match="stored in the lake as Asia/Tokyo"):
        store.ingest_registry("tokyo-x", base=utc, default_timezone="UTC")
    assert store.latest_version() == 1


def test_ingest_registry_keeps_a_stored_override_of_a_builtin(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    assert store.register(Exchange(name="binance", timezone="Asia/Tokyo"))
    registry = store.ingest_registry("binance", default_timezone="UTC")
    assert registry.get("binance").timezone == "Asia/Tokyo"
    assert store.latest_version() == 1


def test_ingest_registry_refuses_a_python_change_over_existing_rows(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    add_rows(tmp_path, "binance")
    moved = DEFAULT_EXCHANGES.register("binance", timezone="Asia/Tokyo", replace=True)
    with pytest.raises(ExchangeChangeRefusedError, match=r"from UTC, session roll none"):
        store.ingest_registry("binance", base=moved, default_timezone="UTC")
    assert store.latest_version() == 0
