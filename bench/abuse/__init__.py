"""The hostile-client suite (issue 15): a learner's journey measured while a hostile client
tries every attack the issue lists. `python -m bench.abuse [--quick]`; tests/test_abuse.py
runs the short version.

One module per kind of attack, each `async def run(target, seconds) -> list[Outcome]`:
frames (malformed, oversized), floods (every socket, pings), origins (forged), instructor
(commands without the permission), direct (node and balancer ports), slow_readers (sockets
that never read, pipelining without reading), resources (rooms, jobs, trace amplification).
An outcome is refused when the lab answered with its documented refusal (a status, a close
code, an error frame) or counted what it dropped.
"""
