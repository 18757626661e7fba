"""The process harness every real-process test stands on (tests/harness/processes.py): its
children start without fork handlers, and die with the test run that started them."""

import os
import subprocess
import sys
import textwrap

import psutil

from tests.harness.processes import ROOT, ManagePy, command_env
from tests.harness.wait_for import wait_for

WAIT = "import time; print('up', flush=True); time.sleep(120)"


def test_a_child_starts_without_running_the_fork_handlers() -> None:
    """vfork, not fork: no fork handler runs, gRPC's included, whose restarted poller aborts a
    child before its exec under grpcio >= 1.80 (die_with_parent.py)."""
    forks = []
    os.register_at_fork(before=lambda: forks.append(os.getpid()))
    with ManagePy("shell", "-c", WAIT, env=command_env()) as child:
        child.wait_for_line("^up$")
    assert forks == []


def test_a_child_is_terminated_when_the_run_that_started_it_dies() -> None:
    """A run killed outright tears nothing down: its children must not outlive it."""
    starter = textwrap.dedent(f"""
        import os
        from tests.harness.processes import ManagePy, command_env
        child = ManagePy("shell", "-c", {WAIT!r}, env=command_env())
        child.wait_for_line("^up$")
        print(child.pid, flush=True)
        os._exit(0)  # no clean-up: as if killed
    """)
    done = subprocess.run(
        [sys.executable, "-c", starter], cwd=ROOT, env=command_env(),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[-1])
    wait_for(lambda: _gone(pid), "the orphaned child gone", 15)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
