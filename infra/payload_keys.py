"""The payload keys of these settings, as every process gets them: the key ring (codec/keys.py)
rebuilt when the secrets file changes, and, in the embedded default only, a key generated on
first use. The data converter (temporal_connection.py) and the bank-account vault (vault.py)
both seal with it: one key ring, one rotation."""

import json
import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from codec.keys import KeyRing, key_ring, new_key
from infra.live_settings import LiveSettings
from infra.settings import Settings


def live_key_ring(live: LiveSettings) -> Callable[[], KeyRing]:
    """A callable answering the current key ring; rebuilt only when the settings object changed."""
    cached: list = [None, None]  # settings object, its key ring

    def current() -> KeyRing:
        s = live.current()
        if cached[0] is not s:
            cached[1], cached[0] = key_ring(s), s
        return cached[1]

    return current


def live_keys(settings: Settings) -> Callable[[], KeyRing]:
    """The current key ring of these settings, checked now (a missing or bad key fails at start,
    not at the first payload); raises codec.keys.CodecKeyError naming what is wrong."""
    ensure_dev_key(settings)
    ring = live_key_ring(LiveSettings(settings))
    ring()
    return ring


def is_embedded_default(settings: Settings) -> bool:
    """A local dev server without TLS: the only setup where a key may be generated on the spot."""
    host = settings.temporal_address.rsplit(":", 1)[0]
    return host in ("localhost", "127.0.0.1", "::1", "[::1]") and not (
        settings.temporal_tls or settings.temporal_api_key or settings.temporal_tls_cert
    )


def ensure_dev_key(settings: Settings) -> bool:
    """Embedded default only: when no key is configured and there is no secrets file yet, create
    one with a random key (and a codec server token for staff), readable by its owner only.
    Production gets its keys from configuration: generating one per machine would make each
    worker write histories the others cannot read. True if a file was created."""
    if settings.codec_keys or not settings.secrets_file or not is_embedded_default(settings):
        return False
    path = Path(settings.secrets_file)
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    key_id = f"dev-{datetime.now(UTC):%Y%m%d}"
    content = {
        "codec_keys": {key_id: new_key()},
        "codec_encrypt_key": key_id,
        "codec_server_tokens": {"staff": secrets.token_urlsafe(24)},
    }
    # Written aside, then linked into place: of two processes starting at once, one creates the
    # file and the other finds it whole (a link, unlike a write, is atomic and refuses to replace).
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(content, f, indent=2)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
