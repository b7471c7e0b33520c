"""Benchmark: import speed, KPI latency, `prm kpi all` end to end, and a pandas baseline.

    python bench/run.py --sizes S,M,L --backends sqlite,postgresql [--write docs/performance.md]

For each size the generated files are cached under bench/data/ (gitignored). For each size
and backend the database is fresh (SQLite file deleted; PostgreSQL database `prm_bench`
dropped and recreated), the four files are imported through `bot.store.importer.import_path`,
every KPI is timed in-process (median of --runs) and `prm kpi all --format json` is timed as
a subprocess (wall time, peak RSS). `bench/pandas_baseline.py` computes the same report
from the CSVs; its time sets the ratio and its report is compared key by key with the
engine's. Results are kept as JSON beside the data, so `--write` renders every size and
backend measured so far, not only this run's.

Other modes: `--reuse` re-times the KPIs on an already imported database (import figures
kept), `--pandas` re-runs only the baseline, `--crosscheck` compares engine and baseline
over several zones, as-of instants and scopes, `--render-only` just prints the tables.

A script, not a test: L takes minutes and its figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling modules, from anywhere

import pandas as pd
import psycopg
from common import (
    CROSS_AS_OF,
    CROSS_SCOPES,
    CROSS_ZONES,
    DATA,
    END,
    HERE,
    PANDAS_SIZES,
    ROOT,
    SEED,
    SIZES,
    data_folder,
    log,
)
from pandas_baseline import compare_reports, compute, load
from render import load_results, render_doc, render_scale, render_tables, with_baseline
from sqlalchemy import text

from bot.demo import KINDS, generate
from bot.kpi import KPI_NAMES, KpiParams, build_report, registry
from bot.kpi import compute as kpi_compute
from bot.store.engine import dispose_engines, get_engine
from bot.store.importer import import_path
from bot.store.schema import upgrade

UTC_ZONE = ZoneInfo("UTC")
PG_DB = "prm_bench"
# How the cross-check turns a `prm kpi` scope flag into the baseline's partner column.
_SCOPE_COLUMN = {"--tier": "tier", "--manager": "manager_slack_id", "--partner": "key"}


# ---- data -----------------------------------------------------------------------------


def dataset(size: str, seed: int) -> tuple[Path, dict[str, Any]]:
    """The cached CSVs for `size`, generated once; `meta.json` marks a complete set."""
    partners = SIZES[size]
    folder = data_folder(size, seed)
    meta_path = folder / "meta.json"
    if meta_path.exists():
        return folder, json.loads(meta_path.read_text())
    log(f"{size}: generating {partners:,} partners into {folder.relative_to(ROOT)}")
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    summary = generate(folder, partners=partners, end=END, seed=seed)
    meta = {
        "size": size,
        "partners": partners,
        "seed": seed,
        "end": END.isoformat(),
        "counts": summary.counts,
        "generate_s": time.perf_counter() - started,
        "csv_mb": sum(p.stat().st_size for p in summary.files.values()) / 1e6,
    }
    meta_path.write_text(json.dumps(meta, indent=1))
    log(f"{size}: {summary.describe()} in {meta['generate_s']:.1f}s")
    return folder, meta


# ---- databases ------------------------------------------------------------------------


def database_url(backend: str, size: str, pg_server: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{DATA / f'bench-{size}.db'}"
    return f"{pg_server}/{PG_DB}"


def fresh_database(backend: str, size: str, pg_server: str) -> str:
    """A new, empty, migrated database; its URL."""
    dispose_engines()
    url = database_url(backend, size, pg_server)
    if backend == "sqlite":
        path = DATA / f"bench-{size}.db"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_DB}")
    upgrade(get_engine(url))
    return url


def stored_events(url: str) -> int | None:
    """Events already in the database at `url` (None when it is missing or unreadable)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    try:
        with get_engine(url).connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM event")).scalar_one())
    except Exception:  # no database, no schema: either way, not reusable
        return None
    finally:
        dispose_engines()


def import_all(url: str, folder: Path) -> dict[str, dict[str, float]]:
    engine = get_engine(url)
    out: dict[str, dict[str, float]] = {}
    for kind in KINDS:
        started = time.perf_counter()
        report = import_path(engine, kind, folder / f"{kind}.csv", UTC_ZONE)
        seconds = time.perf_counter() - started
        if report.rejected:
            log(f"  WARNING {kind}: {report.rejected} rejected, e.g. {report.rejections[:3]}")
        out[kind] = {
            "rows": report.read,
            "inserted": report.inserted,
            "rejected": report.rejected,
            "seconds": seconds,
            "rows_per_s": report.read / seconds if seconds else 0.0,
        }
        log(f"  import {kind}: {report.read:,} rows in {seconds:.2f}s")
    return out


# ---- KPI timings ----------------------------------------------------------------------


def params() -> KpiParams:
    return KpiParams.build(as_of=END, tz=UTC_ZONE)


def kpi_latency(url: str, runs: int) -> dict[str, float]:
    """Median seconds per KPI (and the whole report) on one open connection."""
    engine = get_engine(url)
    p = params()
    out: dict[str, float] = {}
    with engine.connect() as conn:
        for name in KPI_NAMES:
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                kpi_compute(name, conn, p)
                times.append(time.perf_counter() - started)
            out[name] = statistics.median(times)
            log(f"  kpi {name}: {out[name] * 1000:.0f} ms")
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            build_report(conn, p)
            times.append(time.perf_counter() - started)
        out["build_report"] = statistics.median(times)
    out.update({f"scope:{k}": v for k, v in scope_latency(engine, p, runs).items()})
    # What `prm kpi all` calls: the KPIs side by side on PostgreSQL, `build_report` on SQLite.
    concurrently = getattr(registry, "build_report_concurrently", None)
    if concurrently is not None:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            concurrently(engine, p)
            times.append(time.perf_counter() - started)
        out["build_report_concurrently"] = statistics.median(times)
    return out


def scope_latency(engine: Any, p: KpiParams, runs: int) -> dict[str, float]:
    """Warm `build_report` for the whole program, the biggest manager's book and the
    busiest partner (median seconds): what a Slack user waits for."""
    from dataclasses import replace

    from bot.kpi.params import Scope

    with engine.connect() as conn:
        manager = conn.execute(
            text(
                "SELECT manager_slack_id FROM partner WHERE manager_slack_id IS NOT NULL "
                "GROUP BY manager_slack_id ORDER BY count(*) DESC, manager_slack_id LIMIT 1"
            )
        ).scalar()
        partner = conn.execute(
            text(
                "SELECT p.key FROM event e JOIN partner p ON p.id = e.partner_id "
                "GROUP BY p.key ORDER BY count(*) DESC, p.key LIMIT 1"
            )
        ).scalar()
        scopes = {
            "program": Scope(),
            "manager": Scope(manager_slack_id=manager),
            "partner": Scope(partner_key=partner),
        }
        out: dict[str, float] = {}
        for name, scope in scopes.items():
            q = replace(p, scope=scope)
            build_report(conn, q)  # warm
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                build_report(conn, q)
                times.append(time.perf_counter() - started)
            out[name] = statistics.median(times)
            log(f"  warm report, {name}: {out[name] * 1000:.0f} ms")
            if name == "program":
                continue  # its KPIs one by one are `kpi_latency`'s
            for kpi in KPI_NAMES:  # where the scope's time goes
                times = []
                for _ in range(runs):
                    started = time.perf_counter()
                    kpi_compute(kpi, conn, q)
                    times.append(time.perf_counter() - started)
                out[f"{name}:{kpi}"] = statistics.median(times)
    return out


# Spawned by a small Python process, not by this one: Linux carries the parent's RSS
# high-water mark into a child started with vfork/exec (what subprocess does), so wait4
# here would report this benchmark's own RSS (hundreds of MB after an import) as the
# child's. The helper's own footprint (~10 MB) is far below anything it measures.
_SPAWN = """
import os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(out, "w") as fh:
    fh.write(f"{wall} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def timed_process(argv: list[str], env: dict[str, str], stdout: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MB, exit status) of one child process, via wait4."""
    stderr = stdout.with_name(stdout.name + ".stderr")
    figures = stdout.with_name(stdout.name + ".rusage")
    wrapper = [sys.executable, "-c", _SPAWN, str(figures), *argv]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        subprocess.run(wrapper, stdout=out, stderr=err, env=env, cwd=DATA, check=True)
    wall, rss_kb, code = figures.read_text().split()
    if int(code) != 0:
        log(f"  {' '.join(argv[:3])} … failed: {stderr.read_text(errors='replace')[-500:]}")
    return float(wall), int(rss_kb) / 1024, int(code)


def child_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRM_")}
    env.update(PRM_DATABASE_URL=url, PRM_TIMEZONE="UTC")
    return env


def prm_kpi_all(url: str, runs: int, out: Path) -> dict[str, Any]:
    """`prm kpi all --format json --as-of END` as a user runs it; the last output kept."""
    prm = str(Path(sys.executable).parent / "prm")
    argv = [prm, "kpi", "all", "--format", "json", "--as-of", END.isoformat()]
    walls, rss = [], []
    for _ in range(runs):
        wall, peak, code = timed_process(argv, child_env(url), out)
        if code != 0:
            raise SystemExit(f"prm kpi all failed (exit {code})")
        walls.append(wall)
        rss.append(peak)
    help_out = out.with_suffix(".help")
    starts = [timed_process([prm, "--help"], child_env(url), help_out) for _ in range(runs)]
    startup = statistics.median(s[0] for s in starts)
    startup_rss = max(s[1] for s in starts)
    log(f"  prm kpi all: median {statistics.median(walls):.2f}s, peak RSS {max(rss):.0f} MB")
    return {
        "wall_s": statistics.median(walls),
        "wall_all_s": walls,
        "rss_mb": max(rss),
        "startup_s": startup,
        "startup_rss_mb": startup_rss,
    }


# ---- pandas ---------------------------------------------------------------------------


def pandas_baseline(size: str, folder: Path, *, again: bool = False) -> dict[str, Any]:
    """Run the baseline as its own process (fair RSS); cached per data set."""
    cache = folder / "pandas.json"
    if cache.exists() and not again:
        return json.loads(cache.read_text())
    log(f"{size}: pandas baseline")
    report_path = folder / "pandas-report.json"
    argv = [
        sys.executable,
        str(HERE / "pandas_baseline.py"),
        "--data",
        str(folder),
        "--as-of",
        END.isoformat(),
        "--json-out",
        str(report_path),
    ]
    stdout = folder / "pandas-stdout.txt"
    wall, rss, code = timed_process(argv, dict(os.environ), stdout)
    if code != 0:
        raise SystemExit("pandas baseline failed")
    timings = json.loads(stdout.read_text().splitlines()[-1])["timings"]
    result = {**timings, "wall_s": wall, "rss_mb": rss, "report": str(report_path)}
    cache.write_text(json.dumps(result, indent=1))
    log(f"  pandas: read {timings['read_s']:.2f}s + compute {timings['compute_s']:.2f}s")
    return result


def duckdb_baseline(size: str, folder: Path, engine_json: Path) -> dict[str, Any]:
    """DuckDB twice, each as its own process like `prm kpi all`: reading the CSVs (with
    the importer's type checks), and on a DuckDB file loaded beforehand (the load timed
    apart). Its report is compared with the engine's."""
    log(f"{size}: DuckDB baseline")
    path = folder / "baseline.duckdb"
    script = str(HERE / "duckdb_baseline.py")
    common = ["--data", str(folder), "--as-of", END.isoformat()]
    stdout = folder / "duckdb-stdout.txt"
    argv = [sys.executable, script, *common, "--file", str(path), "--compare", str(engine_json)]
    _wall, rss, code = timed_process(argv, dict(os.environ), stdout)
    if code != 0:
        raise SystemExit("DuckDB baseline failed")
    first = json.loads(stdout.read_text().splitlines()[-1])
    walls = []
    for _ in range(3):
        w, _rss, code = timed_process([sys.executable, script, *common, "--file", str(path),
                                       "--only-file"], dict(os.environ), stdout)  # fmt: skip
        walls.append(w)
    result = {
        "csv_s": first["timings"]["csv_s"],
        "file_build_s": first["timings"]["file_build_s"],
        "file_wall_s": statistics.median(walls),
        "diffs": first["diffs"],
        "rss_mb": rss,
    }
    log(f"  DuckDB: CSVs {result['csv_s']:.2f}s, file {result['file_wall_s']:.2f}s, "
        f"{result['diffs']} difference(s) from the engine")  # fmt: skip
    return result


# ---- one cell -------------------------------------------------------------------------


def run_cell(size: str, backend: str, args: argparse.Namespace) -> dict[str, Any]:
    folder, meta = dataset(size, args.seed)
    if size in PANDAS_SIZES:
        pandas_baseline(size, folder)  # cached; before the import, so it has the CPU alone
    stored = DATA / f"result-{size}-{backend}.json"
    url = database_url(backend, size, args.pg_server)
    previous = json.loads(stored.read_text()) if stored.exists() else None
    reuse = bool(args.reuse and previous and stored_events(url) == meta["counts"]["events"])
    if reuse and previous:
        log(f"{size} on {backend}: reusing the imported database (import figures kept)")
        imports, import_s = previous["import"], previous["import_total_s"]
    else:
        log(f"{size} on {backend}: fresh database")
        fresh_database(backend, size, args.pg_server)
        started = time.perf_counter()
        imports = import_all(url, folder)
        import_s = time.perf_counter() - started
    result: dict[str, Any] = {
        "size": size,
        "backend": backend,
        "meta": meta,
        "import": imports,
        "import_total_s": import_s,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    engine_json = DATA / f"prm-{size}-{backend}.json"
    if reuse and previous and "kpi_all_before_analyze" in previous:
        result["kpi_all_before_analyze"] = previous["kpi_all_before_analyze"]
    else:
        # The first report straight after the import, as a user would ask for it (the
        # importer has vacuumed and analyzed what it wrote); then, on PostgreSQL, a full
        # ANALYZE so the timed runs are repeatable.
        result["kpi_all_before_analyze"] = prm_kpi_all(url, 1, engine_json)
        if backend == "postgresql":
            with get_engine(url).begin() as conn:
                conn.execute(text("ANALYZE"))
    result["kpi_s"] = kpi_latency(url, args.runs)
    result["kpi_all"] = prm_kpi_all(url, args.runs, engine_json)
    result["duckdb"] = duckdb_baseline(size, folder, engine_json)
    result = with_baseline(result)
    for line in result["diffs"]:
        log(f"  DIFF {line}")
    log(f"  {len(result['diffs'])} difference(s) between engine and pandas baseline")
    stored.write_text(json.dumps(result, indent=1))
    dispose_engines()
    return result


# ---- cross-check ----------------------------------------------------------------------


def crosscheck(size: str, backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """The engine against the baseline beyond the benchmark's one question: every zone ×
    as_of × scope above, on the already imported database. Plain dates mean midnight in the
    zone a report is read in, so the baseline reads them in each case's zone."""
    folder, _meta = dataset(size, args.seed)
    url = database_url(backend, size, args.pg_server)
    if stored_events(url) != _meta["counts"]["events"]:
        raise SystemExit(f"{size}/{backend}: import it first (run without --crosscheck)")
    frames_in = {zone: load(folder, zone) for zone in CROSS_ZONES}
    prm = str(Path(sys.executable).parent / "prm")
    out = DATA / f"cross-{size}-{backend}.json"
    cases = []
    for zone in CROSS_ZONES:
        for as_of in CROSS_AS_OF:
            for scope in CROSS_SCOPES:
                env = {**child_env(url), "PRM_TIMEZONE": zone}
                argv = [prm, "kpi", "all", "--format", "json", "--as-of", as_of, *scope]
                with out.open("wb") as fh:
                    subprocess.run(argv, stdout=fh, env=env, cwd=DATA, check=True)
                cohort = {_SCOPE_COLUMN[scope[0]]: scope[1]} if scope else None
                expected = compute(
                    frames_in[zone], pd.Timestamp(as_of).tz_convert("UTC"), zone, cohort
                )
                diffs = compare_reports(json.loads(out.read_text()), expected)
                label = f"{zone} as of {as_of} {' '.join(scope) or '(all partners)'}"
                log(f"  {label}: {len(diffs)} difference(s)")
                cases.append({"case": label, "diffs": diffs})
    result = {"size": size, "backend": backend, "cases": cases}
    (DATA / f"crosscheck-{size}-{backend}.json").write_text(json.dumps(result, indent=1))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PRM benchmark (see module docstring).")
    parser.add_argument("--sizes", default="S,M", help="comma-separated: S, M, L, XL")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=3, help="repetitions for medians")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--pg-server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--write", type=Path, help="render all stored results to this file")
    parser.add_argument("--render-only", action="store_true", help="skip measuring")
    parser.add_argument(
        "--pandas", action="store_true", help="only (re-)run the pandas baseline for --sizes"
    )
    parser.add_argument(
        "--crosscheck",
        action="store_true",
        help="compare engine and baseline over zones × as-of × scopes on imported databases",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep an already imported database (and its import figures); re-time the KPIs",
    )
    args = parser.parse_args(argv)
    sizes = [s.strip().upper() for s in args.sizes.split(",") if s.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown := [s for s in sizes if s not in SIZES]:
        parser.error(f"unknown sizes {unknown}; choose from {', '.join(SIZES)}")
    if unknown := [b for b in backends if b not in ("sqlite", "postgresql")]:
        parser.error(f"unknown backends {unknown}")
    DATA.mkdir(parents=True, exist_ok=True)
    if args.pandas:
        for size in [s for s in sizes if s in PANDAS_SIZES]:
            pandas_baseline(size, dataset(size, args.seed)[0], again=True)
    elif args.crosscheck:
        for size in sizes:
            for backend in backends:
                crosscheck(size, backend, args)
    elif not args.render_only:
        for size in sizes:
            for backend in backends:
                run_cell(size, backend, args)
    results = load_results()
    print(render_tables(results))
    print()
    print(render_scale(results))
    if args.write:
        args.write.write_text(render_doc(results, args.runs))
        log(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
