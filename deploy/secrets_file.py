"""Create the secrets file of a deployment, and rotate its payload and archive encryption keys.

    python3 deploy/secrets_file.py new > deploy/secrets.json          # first deploy
    python3 deploy/secrets_file.py add-key deploy/secrets.json        # rotation, step 1
    python3 deploy/secrets_file.py encrypt-with deploy/secrets.json KEY_ID   # rotation, step 2
    python3 deploy/secrets_file.py add-key --archive deploy/secrets.json     # the archive key's, the same

The file is what SECRETS_FILE points at (infra/settings.py; infra/live_settings.py re-reads it when it changes):
codec keys (key id -> base64 of 32 random bytes, AES-256-GCM), the id of the key that encrypts,
the archive keys that seal the closed workflows' histories kept for the auditors (infra/archive_seal.py)
and the id of the one that seals, the codec server's staff tokens and the gateway's clients.
The archive has a key of its own from the start, so the archives, kept for years, do not depend
on the payload keys (without one the worker seals them with the payload keys, and warns).

A rotation has two steps, because every process must be able to decrypt with a key before any
process encrypts with it: `add-key` adds a key that only decrypts; once every worker and gateway
has re-read the file, `encrypt-with` makes it the key new payloads are encrypted with. Old keys
are never removed: histories written with them must stay readable (the auditors read them for
years). The standard library only: it runs with any python3, no virtualenv.
"""

import argparse
import base64
import json
import os
import secrets
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def new_key_id(taken: set[str]) -> str:
    base = f"k{datetime.now(UTC):%Y%m%d}"
    key_id, n = base, 1
    while key_id in taken:
        n += 1
        key_id = f"{base}-{n}"
    return key_id


# (the keys' field, the field naming the key that encrypts) of the payload keys and the archive's
FIELDS = {"codec": ("codec_keys", "codec_encrypt_key"), "archive": ("archive_keys", "archive_encrypt_key")}


def new_secrets(staff: str = "ops") -> dict:
    key_id, archive_key_id = new_key_id(set()), f"archive-{new_key_id(set())}"
    return {
        "codec_keys": {key_id: new_key()},
        "codec_encrypt_key": key_id,
        "archive_keys": {archive_key_id: new_key()},
        "archive_encrypt_key": archive_key_id,
        "codec_server_tokens": {staff: secrets.token_urlsafe(24)},
        "gateway_clients": {},
    }


def add_key(content: dict, family: str = "codec") -> tuple[dict, str]:
    """`content` with a new key that decrypts; the key that encrypts is unchanged. A file without
    an archive key (made before it had one) gets its first one, which seals at once: the payload
    keys sealed until then, and still open what they sealed."""
    keys_field, encrypt_field = FIELDS[family]
    keys = dict(content.get(keys_field) or {})
    prefix = "archive-" if family == "archive" else ""
    key_id = prefix + new_key_id({k.removeprefix(prefix) for k in keys})
    if family == "archive" and not keys:
        return {**content, keys_field: {key_id: new_key()}, encrypt_field: key_id}, key_id
    if not keys or content.get(encrypt_field) not in keys:
        raise SystemExit(f"the file has no {family} key that encrypts: start from `new`")
    keys[key_id] = new_key()
    return {**content, keys_field: keys}, key_id


def encrypt_with(content: dict, key_id: str, family: str = "codec") -> dict:
    """`content` with `key_id` (already in the file) as the key new payloads (or archives) are encrypted with."""
    keys_field, encrypt_field = FIELDS[family]
    if key_id not in (content.get(keys_field) or {}):
        raise SystemExit(f"no {family} key {key_id!r} in the file: add it first (add-key)")
    return {**content, encrypt_field: key_id}


def write_atomically(path: Path, content: dict) -> None:
    """Replace the file in one rename, so a process re-reading it never sees half a file."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        json.dump(content, f, indent=2)
        f.write("\n")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    n = sub.add_parser("new", help="print a new secrets file (one key, one staff token, no gateway client)")
    n.add_argument("--staff", default="ops", help="name of the first codec server staff token")
    a = sub.add_parser("add-key", help="rotation step 1: add a key to FILE (it decrypts, it does not encrypt yet)")
    a.add_argument("file", type=Path)
    e = sub.add_parser("encrypt-with", help="rotation step 2: encrypt new payloads with KEY_ID")
    e.add_argument("file", type=Path)
    e.add_argument("key_id")
    for command in (a, e):
        command.add_argument("--archive", action="store_true", help="the archive keys, not the payload keys")
    args = parser.parse_args(argv)
    if args.command == "new":
        print(json.dumps(new_secrets(args.staff), indent=2))
        return 0
    content = json.loads(args.file.read_text("utf-8"))
    family = "archive" if args.archive else "codec"
    what = "archives are sealed" if args.archive else "payloads are encrypted"
    if args.command == "add-key":
        content, key_id = add_key(content, family)
        write_atomically(args.file, content)
        if content[FIELDS[family][1]] == key_id:
            print(f"{args.file}: added archive key {key_id}; new {what} with it (it is the first)")
            return 0
        print(
            f"{args.file}: added key {key_id} (decrypts only). When every process has re-read the file, "
            f"run: encrypt-with{' --archive' if args.archive else ''} {args.file} {key_id}"
        )
        return 0
    write_atomically(args.file, encrypt_with(content, args.key_id, family))
    print(
        f"{args.file}: new {what} with key {args.key_id}; "
        f"every key still decrypts: {sorted(content[FIELDS[family][0]])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
