"""The writer queue of a SQLite database: a write someone waits for goes before the others."""

import threading
import time

from domain.db.writers import WriterQueue, urgent


def _wait_for(cond, what: str) -> None:
    deadline = time.monotonic() + 10
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def test_an_urgent_writer_is_handed_the_lock_before_those_waiting_longer():
    q = WriterQueue()
    order: list[str] = []

    def write(name: str, is_urgent: bool) -> None:
        urgent.set(is_urgent)  # each thread has its own context
        with q:
            order.append(name)

    q.__enter__()  # a write in progress
    threads = []
    for i, (name, is_urgent) in enumerate(
        [("stage-1", False), ("stage-2", False), ("decision", True), ("stage-3", False), ("signature", True)]
    ):
        t = threading.Thread(target=write, args=(name, is_urgent))
        t.start()
        threads.append(t)
        _wait_for(lambda i=i: sum(q.waiting()) == i + 1, f"{name} waiting")
    assert q.waiting() == (2, 3)
    q.__exit__(None, None, None)
    for t in threads:
        t.join(10)
    assert order == ["decision", "signature", "stage-1", "stage-2", "stage-3"]
    assert q.waiting() == (0, 0)


def test_a_writer_inside_its_own_write_keeps_the_lock_and_an_error_releases_it():
    q = WriterQueue()
    with q:
        with q:  # a transaction writing inside another, on the same thread
            pass
        other = threading.Thread(target=lambda: q.__enter__() and q.__exit__(None, None, None))
        other.start()
        _wait_for(lambda: q.waiting() == (0, 1), "the other thread waiting")
    other.join(10)
    assert not other.is_alive()
    try:
        with q:
            raise ValueError("a failed write")
    except ValueError:
        pass
    got = threading.Event()
    threading.Thread(target=lambda: (q.__enter__(), got.set(), q.__exit__(None, None, None))).start()
    assert got.wait(10), "the lock was not released by the failed write"
