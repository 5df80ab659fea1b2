"""Benchmark (not a test): golden histories replayed per second on this machine.

    .venv/bin/python -m audit.bench_replay [--histories 440] [--out var/bench_replay.json]

Replays the golden set (tests/golden, every lifecycle path, decrypted with its test-only key)
round after round through one Replayer, as `python -m audit replay` does, until `--histories` have been
replayed; prints histories/s and events/s and writes them, with the machine's facts, to --out.
"""

import asyncio
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import temporalio
import typer

from audit import histories, replay
from infra.settings import Settings
from infra.temporal_connection import data_converter

# The golden histories the tests replay (tests/golden_histories.py writes them): read here as data.
GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden"

cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


async def bench(n: int) -> dict:
    files = sorted(GOLDEN.rglob(f"*{histories.SUFFIX}"))
    if not files:
        raise SystemExit("no golden histories: run `make golden`")
    loaded = [histories.load(p) for p in files]
    batch = [loaded[i % len(loaded)] for i in range(n)]
    r = replay.replayer(
        converter=data_converter(
            Settings(secrets_file=str(GOLDEN / "codec-key.secrets"), codec_keys={}, codec_encrypt_key=None)
        ),
        runtime=replay.quiet_runtime(),
    )
    await replay.replay(loaded[:2], replayer_=r)  # warm up: sandbox imports, first activation
    start = time.perf_counter()
    outcomes = await replay.replay(batch, replayer_=r)
    seconds = time.perf_counter() - start
    failed = [o.line() for o in outcomes if not o.ok]
    if failed:
        raise SystemExit("replay failed:\n" + "\n".join(failed[:5]))
    events = sum(o.events for o in outcomes)
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "histories": len(outcomes),
        "distinct_histories": len(loaded),
        "events": events,
        "seconds": round(seconds, 3),
        "histories_per_second": round(len(outcomes) / seconds, 1),
        "events_per_second": round(events / seconds),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "temporalio": temporalio.__version__,
        },
        "notes": "one Replayer, sandboxed workflow runner, payloads decrypted (AES-256-GCM) by the service's data converter",
    }


@cli.command()
def main(
    n: Annotated[int, typer.Option("--histories", min=1, help="how many histories to replay")] = 440,
    out: Annotated[Path, typer.Option("--out", help="where to write the result (JSON)")] = Path(
        "var/bench_replay.json"
    ),
) -> None:
    """Replay the golden histories round after round; report histories replayed per second."""
    result = asyncio.run(bench(n))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{result['histories']} histories ({result['events']} events, {result['distinct_histories']} distinct) "
        f"replayed in {result['seconds']} s: {result['histories_per_second']} histories/s, "
        f"{result['events_per_second']} events/s  -> {out}"
    )


if __name__ == "__main__":
    cli()
