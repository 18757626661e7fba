"""Overload (issue 12), in one run: HTTP admission policies at 0.5x to 4x capacity
(bench/overload/http_load.py), the reconnect storm after a shed (storm.py) and how fast
overload is detected and routed around (detection.py). Each part prints its figures and its
targets with their measured values; the one-line JSON summary comes last, its
`meets_targets` the AND of every target, and bench/results/overload.json.

    .venv/bin/python -m bench.overload [--quick] [--part http|storm|detection|all]
"""

import argparse
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archviz.settings")

import django

django.setup()

from bench.common import report  # noqa: E402
from bench.overload import detection, http_load, storm  # noqa: E402

PARTS = {
    "http": lambda quick: http_load.run(seconds=2 if quick else 6),
    "storm": lambda quick: storm.run(count=100 if quick else 1000),
    "detection": lambda quick: detection.run(rounds=1 if quick else 3),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: seconds, tiny counts")
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    args = parser.parse_args()
    chosen = list(PARTS) if args.part == "all" else [args.part]
    summary: dict = {"bench": "overload", "quick": args.quick,
                     "machine_note": "shared cores: ratios, not absolute figures"}  # fmt: skip
    for part in chosen:
        print(f"--- {part}")
        summary[part] = PARTS[part](args.quick)
    summary["targets"] = {f"{part}.{name}": value for part in chosen
                          for name, value in summary[part].pop("targets").items()}  # fmt: skip
    print("--- targets")
    for name, (value, ok) in summary["targets"].items():
        print(f"{'ok  ' if ok else 'MISS'} {name}: {value}")
    summary["meets_targets"] = all(ok for _, ok in summary["targets"].values())
    report("overload", summary)


if __name__ == "__main__":
    main()
