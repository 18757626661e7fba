"""A real `manage.py lab` in a subprocess, on free ports, and ways to watch it."""

import atexit
import json
import re
import shutil
import signal
import tempfile
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

from tests.harness.processes import ManagePy, ProcessError, command_env, run_manage
from tests.harness.wait_for import wait_for

START_TIMEOUT_S = 60


# The gateway demo's eight processes (archviz/gateway/models.py's default rows), switched
# off as an admin would untick them, for labs whose tests are about something else: each
# costs a Django start on two shared cores.
MIGRATE = "from django.core.management import call_command; call_command('migrate', verbosity=0);"
GATEWAY_DEMO_OFF = (
    "from archviz.gateway.models import GatewayProcess;"
    "GatewayProcess.objects.update(enabled=False);"
)
# The nodes' overload guards (issue 12) off, reject and shed thresholds at 100 %, for labs
# whose tests are about something else: on two shared cores an idle node's own loop lag can
# pass 80 % now and then, and a test of the chat should not meet a refusal it did not ask for.
OVERLOAD_GUARDS_OFF = (
    "from archviz.dashboard.models import Node;"
    "Node.objects.update(reject_above=100, shed_above=100);"
)


DATABASE = "archviz.sqlite3"  # in the lab's ARCHVIZ_VAR_DIR (archviz/settings.py)
_templates: dict[tuple, Path] = {}


def _template_database(rows: str, env: Mapping[str, str]) -> Path:
    """A database migrated and with `rows` applied, made once per test run for each kind of
    lab and copied into each lab's var dir: a migrate is a Django start of its own, and a
    run starts some thirty labs."""
    settings = {k: v for k, v in env.items() if k.startswith(("ARCHVIZ_", "DJANGO_"))}
    settings.pop("ARCHVIZ_VAR_DIR", None)
    key = (rows, tuple(sorted(settings.items())))
    if key not in _templates:
        folder = Path(tempfile.mkdtemp(prefix="archviz-db-"))
        atexit.register(shutil.rmtree, folder, True)
        run_manage("shell", "-c", MIGRATE + rows, env=dict(env) | {"ARCHVIZ_VAR_DIR": str(folder)})
        _templates[key] = folder / DATABASE
    return _templates[key]


class RunningLab:
    def __init__(
        self,
        var_dir: Path,
        *,
        gateway_demo: bool = False,
        overload_guards: bool = False,
        **env: str,
    ) -> None:
        self.var_dir = var_dir
        self.gateway_demo = gateway_demo
        self.overload_guards = overload_guards
        defaults: dict[str, str | None] = {
            "ARCHVIZ_VAR_DIR": str(var_dir),
            "ARCHVIZ_DASHBOARD_PORT": "0",
            "ARCHVIZ_NODE_PORT": "0",
            "ARCHVIZ_LB_PORT": "0",
            "ARCHVIZ_GATEWAY_PORT": "0",
            "REDIS_URL": None,  # the lab's own embedded Redis, unless the test gives one
        }
        self.env = command_env(**(defaults | env))
        self.process: ManagePy | None = None
        self.url = ""
        self.redis_url = ""
        self.admin_password = ""
        self._users: dict[str, tuple[str, bool]] = {}

    # --- starting and stopping -----------------------------------------------------

    def start(self) -> "RunningLab":
        rows = "" if self.gateway_demo else GATEWAY_DEMO_OFF
        rows += "" if self.overload_guards else OVERLOAD_GUARDS_OFF
        database = self.var_dir / DATABASE
        if rows and database.exists():  # a lab started again in the same folder
            run_manage("shell", "-c", MIGRATE + rows, env=self.env)
        elif rows:
            shutil.copyfile(_template_database(rows, self.env), database)
        self.process = ManagePy("lab", env=self.env)
        try:
            self.url = self.wait_for_line(r"running: (http://\S+?)/? ").group(1)
            redis_line = self.wait_for_line(r"(?:embedded Redis:|using Redis at) (redis://\S+)")
        except ProcessError:
            self.process.kill()  # never leave a half-started lab
            raise
        self.redis_url = redis_line.group(1)
        if redis_line.group(0).startswith("embedded"):  # its password is not printed
            secret = (self.var_dir / "redis_password").read_text().strip()
            self.redis_url = self.redis_url.replace("redis://", f"redis://:{secret}@", 1)
        password = re.search(r"password '([^']+)'", self.process.output())
        self.admin_password = password.group(1) if password else ""
        return self

    @property
    def lines(self) -> list[str]:
        return self.process.lines

    def wait_for_line(self, pattern: str, timeout: float = START_TIMEOUT_S) -> re.Match:
        """The first output line matching pattern, waiting for it to be printed."""
        return self.process.wait_for_line(pattern, timeout)

    def descendants(self) -> set[int]:
        """Every live process started (directly or not) by the lab."""
        return self.process.descendants()

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15) -> float:
        """Signal the lab and wait for it to exit; returns how long that took."""
        return self.process.stop(sig, timeout)

    # --- looking at it ----------------------------------------------------------

    def get_json(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=5) as response:
            return json.load(response)

    def state(self) -> dict:
        return self.get_json("/api/lab/state")

    def node(self, node_id: str) -> dict | None:
        return next((n for n in self.state()["nodes"] if n["id"] == node_id), None)

    def wait_until(self, condition: Callable[[dict], bool], what: str, timeout: float = 20):
        """Poll the lab's state until condition holds; fail naming what never happened."""
        return wait_for(self.state, what, timeout, until=condition, interval=0.1)

    def wait_for_nodes_up(self, count: int, timeout: float = 30) -> dict:
        return self.wait_until(
            lambda s: (
                sum(n["status"] == "up" for n in s["nodes"]) == count and len(s["nodes"]) == count
            ),
            f"{count} nodes up",
            timeout,
        )

    def wait_for_ready(self, nodes: int = 3, timeout: float = 40) -> dict:
        """Every node up and healthy in the load balancer, and the traffic generator running."""
        return self.wait_until(
            lambda s: (
                sum(n["status"] == "up" for n in s["nodes"]) == nodes == len(s["nodes"])
                and s["lb"] is not None
                and s["traffic"] is not None
                and sum(b["health"] == "healthy" for b in s["lb"]["backends"]) == nodes
            ),
            f"{nodes} nodes up and healthy behind the load balancer",
            timeout,
        )

    def manage(self, *args: str) -> str:
        """Run another manage.py command against this lab's database and Redis."""
        return run_manage(*args, env=self.env | {"REDIS_URL": self.redis_url})

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    def create_user(self, username: str, password: str, *, instructor: bool) -> None:
        """A new account (it fails if the name is taken)."""
        group = "u.groups.add(Group.objects.get(name='Instructors'))" if instructor else ""
        self.shell(
            "from django.contrib.auth.models import Group, User\n"
            f"u = User.objects.create_user({username!r}, password={password!r})\n"
            f"{group}\n"
        )
        self._users[username] = (password, instructor)

    def ensure_user(self, username: str, password: str, *, instructor: bool) -> None:
        """The account made once in this lab: the modules sharing a lab share its fixtures'
        fixed accounts (a name asked for again with another password or role fails)."""
        if username not in self._users:
            self.create_user(username, password, instructor=instructor)
        made = self._users[username]
        assert made == (password, instructor), f"{username} was made as {made}"
