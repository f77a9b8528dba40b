"""Fold the benchmark outputs into ``benchmarks/results.json`` and the table in
``benchmarks/README.md``, and print the table.

Inputs (written by ``make bench``): the pytest-benchmark JSON
(``benchmarks/.data/pytest-benchmark.json``) and ``rss.py``'s JSON
(``benchmarks/.data/rss.json``). Either may be missing; its rows are then left out.

    .venv/bin/python benchmarks/report.py [--command "make bench"] [--no-readme]
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
RSS_TARGET_MIB, RSS_GROWTH_MIB = 300.0, 30.0


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


def _benchmarks(path: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    if not path.is_file():
        return None, []
    data = json.loads(path.read_text())
    e2e = None
    per_row = []
    for bench in data.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if "ratio" in info:
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
    return e2e, per_row


def collect(command: str) -> dict[str, Any]:
    e2e, per_row = _benchmarks(DATA / "pytest-benchmark.json")
    rss_path = DATA / "rss.json"
    rss = json.loads(rss_path.read_text())["rss"] if rss_path.is_file() else []
    for entry in rss:
        for kind in ("pointline", "bare"):
            entry[kind].pop("runs", None)
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
    if results.get("kernels"):
        out += ["### Kernels", "", "| benchmark | ns/row |", "|---|---:|"]
        out += [f"| `{r['name']}` | {r['ns_per_row']:.1f} |" for r in results["kernels"]]
        out.append("")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--command", default="make bench")
    parser.add_argument("--no-readme", action="store_true")
    options = parser.parse_args()
    results = collect(options.command)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
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
