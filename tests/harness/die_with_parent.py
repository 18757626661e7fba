"""`python die_with_parent.py PARENT_PID PROGRAM ARG...`: ask the kernel to SIGTERM this
process when its parent dies, then become PROGRAM (the signal request survives the exec).

Why not `preexec_fn`: a Popen with one forks with fork(), which runs gRPC's fork handlers
in the child, and with grpcio >= 1.80 those restart gRPC's poller there; close_fds then
closes the poller's epoll descriptor and the child aborts before its exec ("Epoll1Poller
... epoll_wait error: Bad file descriptor"; grpc/grpc#43055). Without `preexec_fn`, Popen
uses vfork(), which runs no fork handlers. Linux only; elsewhere it only execs.
"""

import contextlib
import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1

parent, program = int(sys.argv[1]), sys.argv[2]
with contextlib.suppress(OSError, AttributeError):
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
if os.getppid() != parent:  # the parent died before the request: nobody waits for us
    sys.exit(1)
os.execv(program, sys.argv[2:])
