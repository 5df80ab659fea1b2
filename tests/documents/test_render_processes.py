"""The worker lays documents out in processes of its own (documents/render.py): the same PDF as in
its threads, and no process left behind when the worker is killed."""

import os
import signal
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

from documents.render import html, pdf, render_in_processes
from domain.edition import edition_4_settings
from simulation.waiting import until
from tests.documents.test_documents import application

ROOT = Path(__file__).resolve().parents[2]


def test_a_document_laid_out_in_a_rendering_process_is_the_one_laid_out_here():
    page = html("agreement", application("جمعية تيليلا"), edition_4_settings(), "ar", date(2025, 3, 1))
    here = pdf(page)
    pool = render_in_processes(1)
    try:
        assert pdf(page) == here  # the same bytes: the same SHA-256 whichever renders it
    finally:
        assert pool is not None
        render_in_processes(0)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is gone for our purpose
        return f.read().split(") ")[1][0] != "Z"


async def test_a_rendering_process_ends_when_its_worker_is_killed():
    script = textwrap.dedent(
        """
        import multiprocessing, sys, time
        from documents.render import pdf, render_in_processes
        if __name__ == "__main__":
            render_in_processes(1)
            pdf("<p>bonjour</p>")
            print(*[c.pid for c in multiprocessing.active_children()], flush=True)
            time.sleep(120)
        """
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert worker.stdout is not None
    children = [int(p) for p in worker.stdout.readline().split()]
    assert children and all(alive(p) for p in children)
    worker.send_signal(signal.SIGKILL)
    worker.wait()

    async def living() -> list[int]:
        return [p for p in children if alive(p)]

    assert await until(living, lambda left: not left, "the rendering process to end with its worker") == []
