"""`python -m bench.abuse [--quick]`: start a lab on free ports, measure the learner alone
and under every attack at once, print the figures and the one-line JSON summary last
(bench/results/abuse.json). The full run attacks for 60 s (the issue's figure)."""

import argparse
import asyncio
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archviz.settings")

from bench.common import report  # puts the project on sys.path
from tests.harness.lab import RunningLab

LB_MAX_CONNECTIONS = "300"  # low enough that the suite can fill it, as a class could
FULL = {"baseline_s": 30.0, "attack_s": 60.0}
QUICK = {"baseline_s": 5.0, "attack_s": 8.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    from bench.abuse.suite import measure
    from bench.abuse.target import Target

    with tempfile.TemporaryDirectory(prefix="archviz-abuse-") as var:
        lab = RunningLab(Path(var), ARCHVIZ_LB_MAX_CONNECTIONS=LB_MAX_CONNECTIONS).start()
        try:
            lab.wait_for_ready(3)
            target = Target.of_lab(lab.url, lab.redis_url, quick=args.quick)
            summary = asyncio.run(measure(target, **(QUICK if args.quick else FULL)))
        finally:
            lab.process.close(timeout=15)
    summary["quick"] = args.quick
    _print_figures(summary)
    report("abuse", summary)


def _print_figures(summary: dict) -> None:
    for attack in summary["attacks"]:
        mark = "refused" if attack["held"] else "NOT REFUSED"
        seen = f"  seen: {attack['seen']}" if attack["seen"] else ""
        print(f"{mark:>12}  {attack['refused']}/{attack['tried']}  {attack['attack']}{seen}")
    keys = ("learner_p50_ms", "learner_p99_ms", "learner_p99_ratio", "where_the_time_went",
            "learner_pings", "learner_ping_failure_count", "learner_messages_lost",
            "redis_memory", "processes_up")  # fmt: skip
    for key in keys:
        print(f"{key}: {json.dumps(summary[key])}")


if __name__ == "__main__":
    main()
