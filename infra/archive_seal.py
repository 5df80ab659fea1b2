"""A history archive sealed with the archive key (AES-256-GCM, as the payload codec seals payloads).

The history's payloads are already encrypted by the codec; the archive file is sealed as a whole
as well, so what it says of a workflow (ids, timings, activity names, failures) is not readable in
the bucket either. Its layout: a first line naming the format, a JSON line in clear (the key id,
the workflow and run ids: what a reader needs before opening it), then the nonce and the sealed
gzip of the exported history JSON. Both lines are the cipher's associated data: an archive cannot
be relabelled to another workflow or key. The nonce is derived from the archive's own content
(an HMAC under a key derived from the archive key): the same history sealed twice is the same
file, hence the same SHA-256 and one object in the store, so the archiver's retries write nothing
new; a nonce repeats only with its whole message, which tells nothing but that they are equal.

Keys: `archive_keys` and `archive_encrypt_key` (environment or secrets file; rotation as for the
payload keys: add a key, make it the one that seals, keep the old ones for as long as archives
sealed with them must be read). None configured: the payload keys seal the archives (the embedded
default; `deploy/secrets_file.py new` gives production an archive key of its own, and the worker
warns at start outside the embedded default when there is none). An archive sealed with a payload
key before an archive key was configured still opens: the payload keys open what the archive keys
do not name.
"""

import gzip
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from codec.keys import CodecKeyError, raw_keys
from infra.live_settings import read_secrets_file
from infra.settings import Settings

MAGIC = b"moazara-history-archive-v1\n"
NONCE_BYTES = 12


class ArchiveError(ValueError):
    """An archive that cannot be sealed or opened; the message says why, never a key."""


@dataclass(frozen=True)
class Sealed:
    workflow_id: str
    run_id: str
    key_id: str


NONCE_INFO = b"moazara history archive nonce"


def seals_with_payload_keys(settings: Settings) -> bool:
    """No archive key configured (environment or secrets file): the payload keys seal the archives."""
    return not read_secrets_file(settings).archive_keys


def _raw(keys: Mapping[str, SecretStr], what: str) -> dict[str, bytes]:
    try:
        return raw_keys(keys, what)
    except CodecKeyError as e:
        raise ArchiveError(str(e)) from None


def _keys(settings: Settings) -> tuple[str, dict[str, AESGCM], bytes]:
    s = read_secrets_file(settings)  # the file's keys as they are now: a rotation applies at once
    configured, primary, what = s.archive_keys, s.archive_encrypt_key, "archive"
    if not configured:
        configured, primary, what = s.codec_keys, s.codec_encrypt_key, "payload"
    if not configured:
        raise ArchiveError("no archive key configured: set ARCHIVE_KEYS (or the payload keys, CODEC_KEYS)")
    raws = _raw(configured, what)
    ciphers = {key_id: AESGCM(raw) for key_id, raw in raws.items()}
    primary = primary or (next(iter(ciphers)) if len(ciphers) == 1 else None)
    if primary is None or primary not in ciphers:
        raise ArchiveError(f"the {what} key that seals is not set, or not among the {what} keys {sorted(ciphers)}")
    nonce_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=NONCE_INFO).derive(raws[primary])
    return primary, ciphers, nonce_key


def seal(history_json: str, workflow_id: str, run_id: str, settings: Settings) -> bytes:
    """The archive of one exported history (audit/histories.save's JSON)."""
    key_id, ciphers, nonce_key = _keys(settings)
    header = MAGIC + json.dumps({"key_id": key_id, "workflow_id": workflow_id, "run_id": run_id}).encode() + b"\n"
    plain = gzip.compress(history_json.encode(), mtime=0)
    nonce = hmac.new(nonce_key, header + plain, hashlib.sha256).digest()[:NONCE_BYTES]
    return header + nonce + ciphers[key_id].encrypt(nonce, plain, header)


def label(archive: bytes) -> Sealed:
    """The archive's clear line: which workflow run, sealed with which key."""
    if not archive.startswith(MAGIC):
        raise ArchiveError("not a history archive (its first line is not the archive format's)")
    line, sep, _ = archive[len(MAGIC) :].partition(b"\n")
    try:
        fields = json.loads(line)
        return Sealed(str(fields["workflow_id"]), str(fields["run_id"]), str(fields["key_id"]))
    except (ValueError, KeyError, TypeError):
        raise ArchiveError("not a history archive (its label line does not read)") from None


def open_sealed(archive: bytes, settings: Settings) -> tuple[Sealed, str]:
    """(label, the exported history JSON) of an archive; ArchiveError when it does not open."""
    sealed = label(archive)
    header_end = archive.index(b"\n", len(MAGIC)) + 1
    header, nonce, body = (
        archive[:header_end],
        archive[header_end : header_end + NONCE_BYTES],
        archive[header_end + NONCE_BYTES :],
    )
    _, ciphers, _ = _keys(settings)
    if sealed.key_id not in ciphers:  # sealed with a payload key, before an archive key was configured?
        older = _raw(read_secrets_file(settings).codec_keys, "payload")
        ciphers = {key_id: AESGCM(raw) for key_id, raw in older.items()} | ciphers
    if sealed.key_id not in ciphers:
        raise ArchiveError(
            f"archive sealed with key {sealed.key_id!r}, which is not configured (known: {sorted(ciphers)})"
        )
    try:
        return sealed, gzip.decompress(ciphers[sealed.key_id].decrypt(nonce, body, header)).decode()
    except (InvalidTag, OSError, UnicodeDecodeError):
        raise ArchiveError(
            f"archive of {sealed.workflow_id} run {sealed.run_id}: does not open with key {sealed.key_id!r} (altered?)"
        ) from None
