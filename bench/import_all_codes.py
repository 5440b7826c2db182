"""Import every code the installed simbench package lists, each into a fresh in-memory store.

Prints one line per code (triples, seconds, peak-free status) and a summary; exits 1 if any
code fails. A check of breadth rather than speed: the issue asks that `enertwin import
simbench CODE` work for every listed code, the complete data sets included.

    python bench/import_all_codes.py [--only SUBSTRING] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback

from enertwin.kg.importers.simbench import import_simbench, simbench_codes
from enertwin.kg.store import Store


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="only codes containing this text")
    parser.add_argument("--json", help="write the per-code results here")
    args = parser.parse_args()
    results = []
    codes = [c for c in simbench_codes() if args.only in c]
    started = time.perf_counter()
    for number, code in enumerate(codes, 1):
        t0 = time.perf_counter()
        try:
            with Store.open(None) as store:
                result = import_simbench(store, code)
            row = {
                "code": code,
                "ok": True,
                "triples": result.triples,
                "series": result.series,
                "seconds": round(time.perf_counter() - t0, 2),
            }
        except Exception as exc:  # a sweep reports every failure and goes on
            row = {
                "code": code,
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}"[:500],
                "trace": traceback.format_exc()[-1500:],
                "seconds": round(time.perf_counter() - t0, 2),
            }
        results.append(row)
        status = f"{row['triples']:>9,} triples" if row["ok"] else f"FAILED {row['error'][:120]}"
        print(f"[{number:3}/{len(codes)}] {code:40} {row['seconds']:7.1f} s  {status}", flush=True)
    failed = [r for r in results if not r["ok"]]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed in {time.perf_counter() - started:.0f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
