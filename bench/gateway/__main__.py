"""The API gateway demo (issue 11) against bare baselines, in one run: added latency and
cost (bench/gateway/latency.py), bid fan-out (fanout.py) and chaos (chaos.py). Each part
prints its figures and its targets with their measured values; the one-line JSON summary
comes last, its `meets_targets` the AND of every target, and bench/results/gateway.json.

    .venv/bin/python -m bench.gateway [--quick] [--part latency|fanout|chaos|all]
"""

import argparse
import os
import shutil
import subprocess

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archviz.settings")

import django

django.setup()

from bench.common import report  # noqa: E402
from bench.gateway import chaos, fanout, latency  # noqa: E402
from bench.gateway.sizes import FULL, QUICK  # noqa: E402
from bench.gateway.stack import Stack  # noqa: E402

PARTS = {"latency": latency.run, "fanout": fanout.run, "chaos": chaos.run}
TOOLS = {"haproxy": "haproxy", "wrk": "wrk"}  # command: its Debian package


def install_missing_tools() -> None:
    """haproxy and wrk from Debian when they are not installed (this needs root)."""
    missing = [package for command, package in TOOLS.items() if shutil.which(command) is None]
    if missing:
        print(f"installing {' '.join(missing)} (apt-get)")
        subprocess.run(["apt-get", "install", "-y", *missing], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: seconds, tiny counts")
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    chosen = list(PARTS) if args.part == "all" else [args.part]
    if "latency" in chosen:
        install_missing_tools()
    summary: dict = {"bench": "gateway", "quick": args.quick,
                     "machine_note": "shared cores: ratios, not absolute figures"}  # fmt: skip
    with Stack() as stack:
        for part in chosen:  # chaos last: it kills replicas
            print(f"--- {part}")
            summary[part] = PARTS[part](stack, sizes)
    summary["targets"] = {f"{part}.{name}": value for part in chosen
                          for name, value in summary[part]["targets"].items()}  # fmt: skip
    print("--- targets")
    for name, (value, ok) in summary["targets"].items():
        print(f"{'ok  ' if ok else 'MISS'} {name}: {value}")
    summary["meets_targets"] = all(ok for _, ok in summary["targets"].values())
    report("gateway", summary)


if __name__ == "__main__":
    main()
