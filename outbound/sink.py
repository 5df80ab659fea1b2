"""The embedded default's mail server: takes every message on loopback and writes it under
var/mail/ as an .eml file a person can open (`make up` starts it; `make demo` shows its folder).

    python -m outbound.sink [--port 8025] [--dir var/mail]
"""

import argparse
import asyncio
import hashlib
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class WriteEml:
    """An aiosmtpd handler: one .eml file per message received, named by the time and its hash."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        data: bytes = envelope.original_content or envelope.content
        digest = hashlib.sha256(data).hexdigest()[:16]
        count = len(list(self.directory.glob("*.eml")))
        (self.directory / f"{count + 1:06d}-{digest}.eml").write_bytes(data)
        return "250 OK"


def sink(directory: Path, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    """A started mail sink (stop it with .stop())."""
    controller = Controller(WriteEml(directory), hostname=host, port=port)
    controller.start()
    return controller


def main() -> None:
    parser = argparse.ArgumentParser(description="local mail sink: every message to an .eml file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    controller = sink(args.dir, args.host, args.port)
    print(f"mail sink on {args.host}:{args.port}, writing {args.dir}/*.eml", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
