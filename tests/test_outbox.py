"""The pipe to the writer process, as mitmproxy's event loop uses it: never waiting, nothing lost or reordered."""

from __future__ import annotations

import asyncio
import errno
import os

import pytest

from oauthtrace.capture.outbox import Outbox

pytestmark = pytest.mark.skipif(os.name == "nt", reason="non-blocking pipes are POSIX")


@pytest.fixture
def pipe():
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        try:
            os.close(fd)
        except OSError:
            pass


async def test_a_burst_larger_than_the_pipe_returns_at_once_and_arrives_whole_once_read(pipe):
    read_end, write_end = pipe
    outbox = Outbox(write_end, lambda flows, error: pytest.fail(f"lost {flows}: {error}"))
    batches = [bytes([n]) * 300_000 for n in range(4)]  # 1.2 MB, several times what a pipe holds
    for batch in batches:
        assert outbox.send(batch, flows=10)  # returns although nobody reads yet: a blocking write would hang here
    assert outbox.sent < 40, "the pipe cannot have taken all of it"

    received = bytearray()
    os.set_blocking(read_end, False)
    while len(received) < 1_200_000:
        await asyncio.sleep(0)  # the loop runs the outbox's writer callback whenever the pipe has room
        try:
            received += os.read(read_end, 1 << 16)
        except BlockingIOError:
            pass
    assert bytes(received) == b"".join(batches) and outbox.sent == 40


async def test_beyond_its_limit_a_batch_is_refused_not_queued(pipe):
    _, write_end = pipe
    outbox = Outbox(write_end, lambda flows, error: None, limit=200_000)
    assert outbox.send(b"x" * 150_000, flows=1)
    assert outbox.send(b"y" * 150_000, flows=1) is False


def test_a_closed_reader_reports_every_unwritten_flow_once(pipe):
    read_end, write_end = pipe
    lost = []
    outbox = Outbox(write_end, lambda flows, error: lost.append((flows, error.errno)))
    os.close(read_end)
    assert outbox.send(b"batch", flows=7)
    assert lost == [(7, errno.EPIPE)] and outbox.sent == 0


def test_outside_an_event_loop_it_waits_until_everything_is_written(pipe):
    read_end, write_end = pipe
    outbox = Outbox(write_end, lambda flows, error: pytest.fail("lost"))
    outbox.send(b"z" * 1000, flows=3)
    assert os.read(read_end, 2000) == b"z" * 1000 and outbox.sent == 3
