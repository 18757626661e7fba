"""What the tests share beyond fixtures: one wait, one process harness, the lab and its clients.

- wait_for: poll until a condition holds or a deadline passes (sync and async forms).
- processes: a `manage.py` command in a subprocess, waited on and always stopped.
- lab: a whole `manage.py lab` on free ports (RunningLab), built on processes.
- clients: a test's own clients of a lab (its socket, a logged-in session), of an
  in-process consumer (what a WebsocketCommunicator receives), and of the control
  channel (what was published, read back up to a marker).
- browser: logging a Playwright page in through the real login form.
"""
