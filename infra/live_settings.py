"""Settings that follow the secrets file: keys and credentials rotate without a restart.

Environment variables are read once, when a process starts. The secret fields (codec keys,
gateway credentials, codec server tokens) may also live in `Settings.secrets_file`, a JSON
object with any of those fields; every `current()` call compares the file's stat signature with
the last one read and re-validates it when it changed. The file wins over the environment for
the fields it sets. A file that does not parse (say, half-written by an editor) keeps the last
good settings, with a warning: a typo must not stop the gateway or decrypt nothing.
"""

import json
import os
import threading
from pathlib import Path

import structlog
from pydantic import ValidationError

from infra.log_config import register_secrets
from infra.settings import Settings

# The fields the secrets file may set; anything else there is refused (a misspelt key would
# otherwise be ignored and the old key stay in use).
SECRET_FIELDS = frozenset(
    {
        "codec_keys",
        "codec_encrypt_key",
        "codec_server_tokens",
        "codec_server_origins",
        "gateway_clients",
        "webhook_secrets",
        "archive_keys",
        "archive_encrypt_key",
    }
)

log = structlog.get_logger("moazara.settings")


class SecretsFileError(ValueError):
    """The secrets file exists but cannot be used; the message names the file and the field."""


def read_secrets_file(base: Settings) -> Settings:
    """`base` with the secrets file's fields applied (validated like the environment's)."""
    if not base.secrets_file or not Path(base.secrets_file).exists():
        return base
    path = Path(base.secrets_file)
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise SecretsFileError(f"{path}: not readable JSON ({type(e).__name__})") from None
    if not isinstance(raw, dict):
        raise SecretsFileError(f"{path}: a JSON object is expected")
    unknown = sorted(set(raw) - SECRET_FIELDS)
    if unknown:
        raise SecretsFileError(f"{path}: unknown field(s) {unknown}; allowed: {sorted(SECRET_FIELDS)}")
    try:
        # model_validate validates the dict alone: no second read of the environment.
        return Settings.model_validate({**dict(base), **raw})
    except ValidationError as e:
        # Field names and messages only: never the values (they are keys).
        fields = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise SecretsFileError(f"{path}: {fields}") from None


def secret_values(settings: Settings) -> list[str]:
    """Every secret these settings hold, for the log masking (log_config.register_secrets)."""
    values = [s.get_secret_value() for s in settings.codec_keys.values()]
    values += [s.get_secret_value() for s in settings.codec_server_tokens.values()]
    values += [s.get_secret_value() for s in settings.webhook_secrets.values()]
    values += [s.get_secret_value() for s in settings.archive_keys.values()]
    for client in settings.gateway_clients.values():
        values += [s.get_secret_value() for s in (*client.api_keys, *client.hmac_secrets)]
    return values + [settings.temporal_api_key or ""]


def _signature(path: str | None) -> tuple | None:
    if not path:
        return None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class LiveSettings:
    """The current settings of a long-running process (worker's codec, gateway, codec server)."""

    def __init__(self, base: Settings) -> None:
        self.base = base
        self._lock = threading.Lock()
        self._seen = _signature(base.secrets_file)
        self._current = read_secrets_file(base)  # a bad file at start is an error, not a warning
        register_secrets(secret_values(self._current))

    def current(self) -> Settings:
        sig = _signature(self.base.secrets_file)
        if sig == self._seen:
            return self._current
        with self._lock:
            if sig != self._seen:
                try:
                    self._current = read_secrets_file(self.base)
                    register_secrets(secret_values(self._current))
                    log.info("secrets file reloaded", path=self.base.secrets_file)
                except SecretsFileError as e:
                    log.warning("secrets file not reloaded; keeping the previous settings", error=str(e))
                self._seen = sig
        return self._current
