"""Lab start-up and heartbeat-to-browser latency, each against a baseline in the same run.

- cold start: `manage.py lab` until all 3 nodes are up (median of 5), against the
  start of one bare daphne process serving the same Django project (the floor any
  process of the lab pays), as a ratio;
- heartbeat -> browser: a node's heartbeat timestamp to the state frame's arrival in a
  real Chromium page (p50/p99), against raw Redis pub/sub delivery to a Python
  subscriber in the same run, as a ratio.
Targets (issue 2): all 3 nodes up in <= 4 s; heartbeat-to-browser p99 <= 100 ms.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import redis

from bench.common import ROOT, median, percentile, report

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archviz.settings")
COLD_STARTS = 5
LATENCY_SECONDS = 40


def _get_state(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url + "/api/lab/state", timeout=2) as response:
            return json.load(response)
    except OSError:
        return None


def _start_lab(var_dir: str) -> tuple[subprocess.Popen, str]:
    from archviz.core.ports import free_port

    port = free_port("127.0.0.1")
    env = os.environ | {"ARCHVIZ_VAR_DIR": var_dir, "ARCHVIZ_DASHBOARD_PORT": str(port),
                        "ARCHVIZ_NODE_PORT": "0", "ARCHVIZ_LB_PORT": "0",
                        "ARCHVIZ_GATEWAY_PORT": "0"}  # fmt: skip
    env.pop("REDIS_URL", None)
    lab = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "lab"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return lab, f"http://127.0.0.1:{port}"


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(2)
    process.wait(15)


def cold_start_s(var_dir: str) -> float:
    """Seconds from spawning the lab to 3 nodes up (the database is already migrated)."""
    started = time.perf_counter()
    lab, url = _start_lab(var_dir)
    try:
        while True:
            state = _get_state(url)
            if state and sum(n["status"] == "up" for n in state["nodes"]) == 3:
                return time.perf_counter() - started
            if time.perf_counter() - started > 60:
                raise RuntimeError("lab did not come up in 60 s")
            time.sleep(0.02)
    finally:
        _stop(lab)


def bare_daphne_start_s() -> float:
    """Seconds from spawning `manage.py dashboard` (no lab) until it answers HTTP."""
    from archviz.core.ports import free_port
    from archviz.lab.embedded_redis import EmbeddedRedis

    server = EmbeddedRedis().start()
    port = free_port("127.0.0.1")
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "dashboard", "--port", str(port)],
        env=os.environ | {"REDIS_URL": server.url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while _get_state(f"http://127.0.0.1:{port}") is None:
            time.sleep(0.02)
        return time.perf_counter() - started
    finally:
        _stop(process)
        server.stop()


INIT_SCRIPT = """
window.__heartbeatLatencies = [];
const seen = {};
const Native = window.WebSocket;
window.WebSocket = class extends Native {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', (event) => {
      const arrived = Date.now();
      const frame = JSON.parse(event.data);
      if (frame.type !== 'state') return;
      for (const node of frame.state.nodes) {
        if (node.heartbeat_ts && seen[node.id] !== node.heartbeat_ts) {
          if (seen[node.id] !== undefined) {
            window.__heartbeatLatencies.push(arrived - node.heartbeat_ts);
          }
          seen[node.id] = node.heartbeat_ts;
        }
      }
    });
  }
};
"""


def heartbeat_to_browser_ms(var_dir: str) -> list[float]:
    from playwright.sync_api import sync_playwright

    lab, url = _start_lab(var_dir)
    try:
        while not (
            (s := _get_state(url))
            and sum(n["status"] == "up" for n in s["nodes"]) == 3
            and s["lb"]
            and s["traffic"]
        ):
            time.sleep(0.05)
        time.sleep(2)  # let the load balancer's and generator's start-up settle
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"),
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            )
            page = browser.new_page()
            page.add_init_script(INIT_SCRIPT)
            page.goto(url)
            page.wait_for_timeout(LATENCY_SECONDS * 1000)
            samples = page.evaluate("window.__heartbeatLatencies")
            browser.close()
        return [float(x) for x in samples]
    finally:
        _stop(lab)


def raw_pubsub_ms(count: int = 300) -> list[float]:
    """Baseline: Redis PUBLISH to a Python subscriber's receipt, same clock, same machine."""
    from archviz.lab.embedded_redis import EmbeddedRedis

    server = EmbeddedRedis().start()
    try:
        client = redis.Redis.from_url(server.url)
        pubsub = redis.Redis.from_url(server.url, socket_timeout=None).pubsub()
        pubsub.subscribe("bench")
        pubsub.get_message(timeout=1)
        latencies: list[float] = []
        ready = threading.Event()

        def listen() -> None:
            ready.set()
            for message in pubsub.listen():
                if message["type"] == "message":
                    latencies.append(time.time() * 1000 - float(message["data"]))
                    if len(latencies) == count:
                        return

        thread = threading.Thread(target=listen)
        thread.start()
        ready.wait()
        for _ in range(count):
            client.publish("bench", str(time.time() * 1000))
            time.sleep(0.005)
        thread.join(10)
        return latencies
    finally:
        server.stop()


def main() -> None:
    import django

    django.setup()
    var_dir = tempfile.mkdtemp(prefix="archviz-bench-")
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"],
        env=os.environ | {"ARCHVIZ_VAR_DIR": var_dir},
        check=True,
    )
    starts = [cold_start_s(var_dir) for _ in range(COLD_STARTS)]
    bare = [bare_daphne_start_s() for _ in range(COLD_STARTS)]
    print(f"cold starts (s): {[round(s, 2) for s in starts]}; bare dashboard (s): "
          f"{[round(s, 2) for s in bare]}")  # fmt: skip
    latencies = heartbeat_to_browser_ms(var_dir)
    baseline = raw_pubsub_ms()
    summary = {
        "bench": "startup",
        "lab_start_median_s": round(median(starts), 3),
        "bare_dashboard_start_median_s": round(median(bare), 3),
        "start_ratio_vs_bare_process": round(median(starts) / median(bare), 2),
        "heartbeat_to_browser_samples": len(latencies),
        "heartbeat_to_browser_p50_ms": round(percentile(latencies, 50), 1),
        "heartbeat_to_browser_p99_ms": round(percentile(latencies, 99), 1),
        "raw_pubsub_p50_ms": round(percentile(baseline, 50), 2),
        "raw_pubsub_p99_ms": round(percentile(baseline, 99), 2),
        "latency_p99_ratio_vs_raw_pubsub": round(
            percentile(latencies, 99) / max(percentile(baseline, 99), 0.01), 1
        ),
        "target_start_s": 4.0,
        "target_heartbeat_p99_ms": 100.0,
    }
    summary["meets_targets"] = (
        summary["lab_start_median_s"] <= 4.0 and summary["heartbeat_to_browser_p99_ms"] <= 100
    )
    shutil.rmtree(var_dir, ignore_errors=True)
    report("startup", summary)


if __name__ == "__main__":
    main()
