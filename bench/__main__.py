"""``python -m bench [NAME ...] [--backend sqlite|postgresql] [--json FILE]``: run the
benchmarks (all by default) on SQLite and PostgreSQL and print Ritme against the baselines."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench import Database, Figure, fmt, machine, postgres_server

BENCHMARKS = ("peak", "fanout", "answers", "anonymous_answers", "many_rituals", "review", "school_board")


def report(figures: list[Figure], backend: str) -> None:
    for f in figures:
        ratio = f.ratio
        verdict = "" if f.met is None else ("  [target met]" if f.met else "  [TARGET MISSED]")
        print(f"  {f.what}")
        print(f"      ritme    {fmt(f.ritme, f.unit)}")
        if f.baseline is not None:
            print(f"      baseline {fmt(f.baseline, f.unit)}  ({f.baseline_name})")
            if ratio is not None:
                print(f"      ratio    {ratio:.2f}")
        if f.target:
            print(f"      target   {f.target}{verdict}")
        if f.notes:
            print(f"      {f.notes}")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"which benchmarks ({', '.join(BENCHMARKS)}); all by default"
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql"), action="append", help="which database backends; both by default"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply the data sizes (0.1 for a quick look; the targets are for 1)"
    )
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)} (choose from {', '.join(BENCHMARKS)})")
    backends = args.backend or ["sqlite", "postgresql"]

    print("Ritme benchmarks: Ritme against a baseline measured in the same run")
    for key, value in machine().items():
        print(f"  {key}: {value}")
    results: list[dict[str, object]] = []
    failed = False
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ritme-bench-") as tmp, postgres_server() as pg_url:
        for backend in backends:
            if backend == "postgresql" and pg_url is None:
                print(
                    "\n== postgresql: skipped: no PostgreSQL server here "
                    "(make system-deps installs one as root, or set RITME_TEST_POSTGRES_URL)"
                )
                failed = True
                continue
            db = Database(backend=backend, tmp=Path(tmp), server_url=pg_url)
            for name in names:
                print(f"\n== {name} on {backend}", flush=True)
                module = importlib.import_module(f"bench.{name}")
                clock = time.monotonic()
                try:
                    figures: list[Figure] = asyncio.run(module.run(db, scale=args.scale))
                except Exception as err:  # report and go on with the next benchmark
                    import traceback

                    traceback.print_exc()
                    print(f"  FAILED: {err!r}")
                    failed = True
                    continue
                finally:
                    db.drop_all()
                report(figures, backend)
                print(f"  ({time.monotonic() - clock:.0f} s)")
                results += [{"backend": backend, **asdict(f), "ratio": f.ratio} for f in figures]
    print(f"\nall benchmarks: {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "figures": results}, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
