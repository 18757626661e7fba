"""Reading the embedded Redis's log: its output-buffer closes are counted and named."""

from archviz.lab.redis_log import RedisLogWatch, client_of, is_output_buffer_close

# as Redis 6.2.14 writes it (networking.c), seen in this lab's own test run
CLOSE_LINE = (
    "1234:M 02 Dec 2026 20:30:00.123 # Client id=7 addr=127.0.0.1:50100 laddr=127.0.0.1:6379 "
    "fd=9 name=node-2 age=3 idle=0 flags=P db=0 sub=1 psub=0 multi=-1 qbuf=0 qbuf-free=0 "
    "argv-mem=0 obl=0 oll=40 omem=10485760 tot-mem=10507200 events=rw cmd=subscribe "
    "user=worker redir=-1 scheduled to be closed ASAP for overcoming of output buffer limits."
)


def test_an_output_buffer_close_is_recognised_and_its_client_named():
    assert is_output_buffer_close(CLOSE_LINE)
    assert client_of(CLOSE_LINE) == "node-2 at 127.0.0.1:50100"
    assert not is_output_buffer_close("1234:M 02 Dec 2026 20:30:00.123 # Server initialized")


def test_the_watch_counts_only_the_closes():
    watch = RedisLogWatch()
    for line in ("1:M # WARNING overcommit_memory is set to 0!", CLOSE_LINE, CLOSE_LINE):
        watch.line(line)
    assert watch.output_buffer_closes == 2


def test_a_line_without_fields_names_no_client():
    assert client_of("scheduled to be closed ASAP for overcoming of output buffer limits") == (
        "- at ?"
    )
