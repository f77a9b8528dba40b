"""Fold the benchmark outputs into ``benchmarks/results.json`` and the table in
``benchmarks/README.md``, and print the table.

Inputs (written by ``make bench``): the pytest-benchmark JSON
(``benchmarks/.data/pytest-benchmark.json``, with the CN streams of ``test_cn_bench.py``),
``rss.py``'s JSON (``benchmarks/.data/rss.json``: ``rss`` and ``inputs_rss``) and
``cn_day.py``'s JSON (``benchmarks/.data/cn_day.json``). Any may be missing; its rows are
then left out.

    .venv/bin/python benchmarks/report.py [--command "make bench"] [--no-readme]
        [--data benchmarks/.data] [--results benchmarks/results.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
RESULTS = HERE / "results.json"
README = HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"

RATIO_TARGET, RATIO_STRETCH = 0.8, 0.9
RSS_TARGET_MIB, RSS_GROWTH_MIB = 256.0, 30.0  # issue 16: every input, flat 1M -> 30M rows


def machine() -> dict[str, Any]:
    memory_kib = 0
    model = platform.processor() or platform.machine()
    meminfo, cpuinfo = Path("/proc/meminfo"), Path("/proc/cpuinfo")
    if meminfo.is_file():
        match = re.search(r"MemTotal:\s+(\d+)", meminfo.read_text())
        memory_kib = int(match.group(1)) if match else 0
    if cpuinfo.is_file():
        match = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        model = match.group(1).strip() if match else model
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 2**20, 1),
        "cpu": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pyarrow": version("pyarrow"),
        "numpy": version("numpy"),
        "pointline": version("pointline"),
    }


def _benchmarks(
    path: Path,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]]]:
    if not path.is_file():
        return None, [], []
    data = json.loads(path.read_text())
    e2e = None
    per_row = []
    cn = []
    for bench in data.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if "cn_stream" in info:
            cn.append(dict(info))
        elif "ratio" in info:
            e2e = {k: v for k, v in info.items() if not k.endswith("_runs_s")}
            e2e["bare_runs_s"] = info.get("bare_runs_s")
            e2e["pointline_runs_s"] = info.get("pointline_runs_s")
        elif info.get("rows"):
            median = bench["stats"]["median"]
            per_row.append(
                {
                    "name": bench["name"],
                    "step": info.get("step"),
                    "rows": info["rows"],
                    "median_s": median,
                    "ns_per_row": median / info["rows"] * 1e9,
                    "rounds": bench["stats"]["rounds"],
                }
            )
    return e2e, per_row, cn


def collect(command: str, data: Path = DATA) -> dict[str, Any]:
    e2e, per_row, cn_e2e = _benchmarks(data / "pytest-benchmark.json")
    rss_path = data / "rss.json"
    rss_data = json.loads(rss_path.read_text()) if rss_path.is_file() else {}
    rss, inputs_rss = rss_data.get("rss", []), rss_data.get("inputs_rss", [])
    for entry in rss + inputs_rss:
        for kind in ("pointline", "bare"):
            entry[kind].pop("runs", None)
    day_path = data / "cn_day.json"
    cn_day = json.loads(day_path.read_text())["cn_day"] if day_path.is_file() else None
    peers_path = data / "peers.json"
    peers = json.loads(peers_path.read_text())["peers"] if peers_path.is_file() else None
    scale_path = data / "scale_out.json"
    scale = json.loads(scale_path.read_text())["scale_out"] if scale_path.is_file() else None
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": machine(),
        "targets": {
            "ratio": RATIO_TARGET,
            "ratio_stretch": RATIO_STRETCH,
            "rss_mib": RSS_TARGET_MIB,
            "rss_growth_mib_1m_to_30m": RSS_GROWTH_MIB,
        },
        "e2e": e2e,
        "operators": [r for r in per_row if r["step"]],
        "kernels": [r for r in per_row if not r["step"]],
        "rss": rss,
        "cn_e2e": cn_e2e,
        "inputs_rss": inputs_rss,
        "cn_day": cn_day,
        "scale_out": scale,
        "peers": peers,
    }


def _ok(good: bool) -> str:
    return "yes" if good else "**no**"


def table(results: dict[str, Any]) -> str:
    m = results["machine"]
    out = [
        f"Measured {results['date']} with `{results['command']}` on {m['cores']} cores, "
        f"{m['memory_gib']} GiB ({m['cpu']}); Python {m['python']}, pyarrow {m['pyarrow']}, "
        f"numpy {m['numpy']}, pointline {m['pointline']}. Medians; the machine is shared "
        "and noisy.",
        "",
    ]
    e2e = results.get("e2e")
    if e2e:
        ratio = e2e["ratio"]
        out += [
            f"### End to end: {e2e['e2e_rows']:,}-row L2 `.csv.gz` "
            f"({e2e['file_bytes'] / 2**20:.0f} MiB)",
            "",
            "| pipeline | median s | M rows/s | runs (s) |",
            "|---|---:|---:|---|",
            f"| bare `open_csv` -> `ParquetWriter` (zstd) | {e2e['bare_s']:.2f} | "
            f"{e2e['bare_rows_per_s'] / 1e6:.2f} | "
            f"{', '.join(f'{t:.2f}' for t in e2e.get('bare_runs_s') or [])} |",
            f"| `ingest_file` (force) | {e2e['pointline_s']:.2f} | "
            f"{e2e['pointline_rows_per_s'] / 1e6:.2f} | "
            f"{', '.join(f'{t:.2f}' for t in e2e.get('pointline_runs_s') or [])} |",
            "",
            f"Ratio bare / pointline time: **{ratio:.2f}x** "
            f"(target >= {RATIO_TARGET}: {_ok(ratio >= RATIO_TARGET)}; "
            f"stretch >= {RATIO_STRETCH}: {_ok(ratio >= RATIO_STRETCH)})",
            "",
        ]
    if results.get("operators"):
        rows = results["operators"][0]["rows"]
        out += [
            f"### Per operator ({rows:,}-row L2 stream, each step alone on materialised input)",
            "",
            "| step | ns/row | rounds |",
            "|---|---:|---:|",
        ]
        steps = results["operators"]
        out += [f"| {r['step']} | {r['ns_per_row']:.1f} | {r['rounds']} |" for r in steps]
        total = sum(r["ns_per_row"] for r in steps if r["step"] != "full_chain")
        out += [f"| sum of the steps | {total:.1f} | |", ""]
    if results.get("rss"):
        out += [
            "### Peak RSS of a whole process (`ru_maxrss`)",
            "",
            "| rows | gz MiB | pointline MiB | pointline s | Arrow pool peak MiB "
            f"| bare MiB | bare s | <= {RSS_TARGET_MIB:.0f} MiB |",
            "|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in results["rss"]:
            p, b = r["pointline"], r["bare"]
            out.append(
                f"| {r['rows']:,} | {r['file_bytes'] / 2**20:.0f} | {p['max_rss_mib']:.1f} | "
                f"{p['seconds']:.1f} | {p['pool_peak_mib']:.1f} | {b['max_rss_mib']:.1f} | "
                f"{b['seconds']:.1f} | {_ok(p['max_rss_mib'] <= RSS_TARGET_MIB)} |"
            )
        first, last = results["rss"][0], results["rss"][-1]
        growth = last["pointline"]["max_rss_mib"] - first["pointline"]["max_rss_mib"]
        out += [
            "",
            f"Growth {first['rows']:,} -> {last['rows']:,} rows: {growth:+.1f} MiB "
            f"(target < {RSS_GROWTH_MIB:.0f} MiB: {_ok(growth < RSS_GROWTH_MIB)})",
            "",
        ]
    out += _cn_tables(results)
    if results.get("kernels"):
        out += ["### Kernels", "", "| benchmark | ns/row |", "|---|---:|"]
        out += [f"| `{r['name']}` | {r['ns_per_row']:.1f} |" for r in results["kernels"]]
        out.append("")
    return "\n".join(out)


def _runs(values: list[float] | None) -> str:
    return ", ".join(f"{t:.2f}" for t in values or [])


def _cn_tables(results: dict[str, Any]) -> list[str]:
    """The CN (Quant360) sections: end to end per stream, peak RSS, one SZSE day."""
    out: list[str] = []
    if results.get("cn_e2e"):
        out += [
            "### CN (Quant360) end to end: one generated symbol file per stream "
            "(gzip level 1), same run",
            "",
            "| stream | rows | gz MiB | bare ns/row | pointline ns/row | ratio bare/pointline "
            "| bare runs (s) | pointline runs (s) |",
            "|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for r in results["cn_e2e"]:
            out.append(
                f"| {r['cn_stream']} | {r['e2e_rows']:,} | {r['file_bytes'] / 2**20:.0f} | "
                f"{r['bare_s'] / r['e2e_rows'] * 1e9:.0f} | "
                f"{r['pointline_s'] / r['e2e_rows'] * 1e9:.0f} | **{r['ratio']:.2f}x** | "
                f"{_runs(r.get('bare_runs_s'))} | {_runs(r.get('pointline_runs_s'))} |"
            )
        out += [
            "",
            "Bare = `open_csv` of the same `.csv.gz` with every vendor column typed (int64, "
            "float64; codes, flags and the L2 arrays as strings) -> one zstd `ParquetWriter`.",
            "",
        ]
    if results.get("inputs_rss"):
        out += [
            "### Peak RSS of a whole process, the other inputs (`ru_maxrss`)",
            "",
            "| stream | rows | gz MiB | pointline MiB | pointline s | Arrow pool peak MiB "
            f"| bare MiB | bare s | <= {RSS_TARGET_MIB:.0f} MiB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in results["inputs_rss"]:
            p, b = r["pointline"], r["bare"]
            out.append(
                f"| {r['exchange']} {r['stream']} | {r['rows']:,} | "
                f"{r['file_bytes'] / 2**20:.0f} | {p['max_rss_mib']:.1f} | {p['seconds']:.1f} | "
                f"{p['pool_peak_mib']:.1f} | {b['max_rss_mib']:.1f} | {b['seconds']:.1f} | "
                f"{_ok(p['max_rss_mib'] <= RSS_TARGET_MIB)} |"
            )
        by_input: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in results["inputs_rss"]:
            by_input.setdefault((r["exchange"], r["stream"]), []).append(r)
        out.append("")
        for (exchange, stream), entries in by_input.items():
            if len(entries) > 1:
                first, last = entries[0], entries[-1]
                growth = last["pointline"]["max_rss_mib"] - first["pointline"]["max_rss_mib"]
                out.append(
                    f"{exchange} {stream}: growth {first['rows']:,} -> {last['rows']:,} rows "
                    f"{growth:+.1f} MiB (flat, < {RSS_GROWTH_MIB:.0f} MiB: "
                    f"{_ok(growth < RSS_GROWTH_MIB)})"
                )
        out.append("")
    day = results.get("cn_day")
    if day:
        ingest = day["ingest"]
        gen = f"{day['generate_s']:.0f} s" + (" (cached)" if day.get("generate_cached") else "")
        parts = [
            f"{table} {part}: {n:,}"
            for table, found in day["partitions"].items()
            for part, n in found.items()
        ]
        read, dataset = day["read_symbol"], day.get("dataset_symbol")
        read_how = (
            f'`read(lake, "{read["table"]}", exchange="{day["exchange"]}", '
            f'symbols=["{read["symbol"]}"]).read_all()`'
        )
        if read.get("refused"):
            read_how += (
                f" refused ({read['refused'].split(':', 1)[0]}): `order='symbol'` timed instead"
            )
        out += [
            f"### CN lake scale: one generated SZSE day ({day['symbols']:,} symbols x 3 streams)",
            "",
            "| figure | value |",
            "|---|---|",
            f"| Bronze files (MiB) | {day['bronze_files']:,} ({day['bronze_bytes'] / 2**20:.0f}) |",
            f"| generate Bronze | {gen} |",
            f"| `bootstrap_dim_symbol` (every file read) | {day['bootstrap_s']:.1f} s |",
            f"| ingest, one process, serial | {ingest['seconds']:.0f} s, "
            f"{ingest['files_per_s']:.1f} files/s, {ingest['rows']:,} rows |",
            f"| per file: median, p95 | {ingest['file_median_s'] * 1e3:.0f} ms, "
            f"{ingest['file_p95_s'] * 1e3:.0f} ms |",
            f"| per file: median of the first / last tenth | "
            f"{ingest['first_tenth_median_s'] * 1e3:.0f} ms / "
            f"{ingest['last_tenth_median_s'] * 1e3:.0f} ms |",
            f"| ingest process peak RSS | {ingest['max_rss_mib']:.0f} MiB |",
            f"| Silver files per partition | {'; '.join(parts)} |",
            f"| Silver files in total (MiB) | {day['silver_files']:,} "
            f"({day['silver_bytes'] / 2**20:.0f}) |",
            f"| manifest entries | {day['manifest_entries']:,} |",
            f"| manifest on disk: files, MiB (of which checkpoints) | {day['manifest_files']:,}, "
            f"{day['manifest_bytes'] / 2**20:.0f} ({day['checkpoint_files']:,}, "
            f"{day['checkpoint_bytes'] / 2**20:.0f}) |",
            f"| open the manifest, fresh process (whole process) | "
            f"{day['open_manifest']['seconds'] * 1e3:.0f} ms "
            f"({day['open_manifest']['process_s'] * 1e3:.0f} ms) |",
        ]
        if read["seconds"] is None:
            out.append(f"| {read_how} | failed: {read.get('error')} |")
        else:
            out.append(
                f"| {read_how}, {read['rows']:,} rows, fresh process (whole "
                f"process) | {read['seconds'] * 1e3:.0f} ms ({read['process_s'] * 1e3:.0f} ms) |"
            )
        if dataset:
            out.append(
                f"| same rows by a `pyarrow.dataset` filter (whole process) | "
                f"{dataset['seconds'] * 1e3:.0f} ms ({dataset['process_s'] * 1e3:.0f} ms) |"
            )
        out += [
            "",
            f"Fresh-process times are medians of {day['repeats']}, timed from after the imports.",
            "",
        ]
    return out + _scale_table(results) + _peers_table(results)


def _scale_table(results: dict[str, Any]) -> list[str]:
    scale = results.get("scale_out")
    if not scale:
        return []
    out = [
        f"### Many files at once: {scale['files']} L2 files x {scale['rows_per_file']:,} rows, "
        f"{scale['cpus']} cores",
        "",
        "| run | rows/s (all files) | x serial, same session | peak RSS per worker | "
        "cores busy | runs |",
        "|---|---|---|---|---|---|",
    ]
    names = {"serial": "serial, 1 process", "workers": "`--workers 2`", "ray": "`--ray`, local"}
    for row in scale["runs"]:
        busy = "-" if row["cores_busy"] is None else f"{row['cores_busy']:.2f}"
        name = names.get(row["mode"], row["mode"])
        if row["mode"] == "ray":
            name += f" (cluster start {row['cluster_start_s']:.1f} s, not counted)"
        out.append(
            f"| {name} | {row['rows_per_s']:,.0f} | {row['vs_serial']:.2f}x | "
            f"{row['max_rss_mib_per_worker']:.0f} MiB | {busy} | {_runs(row['runs_s'])} |"
        )
    out += [
        "",
        f"Medians of {scale['rounds']} rounds, order alternating; each run a fresh process "
        "and a fresh lake (`scale_out.py`).",
        "",
    ]
    return out


def _peers_table(results: dict[str, Any]) -> list[str]:
    peers = results.get("peers")
    if not peers:
        return []
    names = {
        "bare": "bare `open_csv` -> `ParquetWriter` (float64 prices, one file)",
        "pointline": "Pointline `ingest_file`",
        "polars": "Polars `scan_csv` -> `str.to_decimal` -> `sink_parquet` by exchange/date",
        "duckdb": "DuckDB `COPY (read_csv ... DECIMAL) TO ... PARTITION_BY`, 2 threads",
    }
    inputs = {
        "l2": "Tardis L2",
        "trades": "Tardis trades",
        "cn_order": "Quant360 SZSE order_new",
    }
    out: list[str] = []
    for result in peers if isinstance(peers, list) else [peers]:
        label = inputs.get(result.get("input", "l2"), result.get("input", ""))
        out += [
            f"### Against the peers: {result['rows']:,}-row {label} `.csv.gz` "
            f"({result['file_bytes'] / 2**20:.0f} MiB), same run",
            "",
            "| tool | median s | x bare (above 1: faster) | peak RSS MiB | runs (s) |",
            "|---|---:|---:|---:|---|",
        ]
        out.extend(
            f"| {names.get(row['tool'], row['tool'])} | {row['seconds']:.2f} | "
            f"{row['ratio_vs_bare']:.2f}x | {row['max_rss_mib']:.0f} | {_runs(row['runs_s'])} |"
            for row in result["tools"]
        )
        out += [""]
    rounds = (peers if isinstance(peers, list) else [peers])[0]["rounds"]
    out += [
        f"Fresh process per run (`peers.py`), medians of {rounds} rounds, order "
        "alternating; times from after the imports. Polars and DuckDB convert the same "
        "decimal and time columns (CN: the 17-digit Shanghai wall time too) and partition "
        "by exchange and date; bare, Polars and DuckDB run with their default allocator.",
        "",
    ]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--command", default="make bench")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--data", type=Path, default=DATA, help="where the inputs are")
    parser.add_argument("--results", type=Path, default=RESULTS, help="results JSON to write")
    options = parser.parse_args()
    results = collect(options.command, options.data)
    options.results.write_text(json.dumps(results, indent=2) + "\n")
    text = table(results)
    print(text)
    if not options.no_readme and README.is_file():
        readme = README.read_text()
        if START in readme and END in readme:
            head, rest = readme.split(START, 1)
            tail = rest.split(END, 1)[1]
            README.write_text(f"{head}{START}\n{text}\n{END}{tail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
