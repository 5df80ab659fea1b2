"""A history archive sealed with the archive key (infra/archive_seal.py): it opens to the exported
history with the key that sealed it, also once another key seals new archives (rotation); the same
history always seals to the same bytes (the archiver's retries store nothing new); an archive
altered, relabelled to another run, or sealed with a key no longer configured is refused, saying
why and never showing a key."""

import pytest

from codec.keys import new_key
from infra.archive_seal import ArchiveError, label, open_sealed, seal, seals_with_payload_keys
from infra.live_settings import secret_values
from infra.settings import Settings

HISTORY = '{\n  "events": [\n    {\n      "eventId": "1"\n    }\n  ]\n}\n'
KEY_A, KEY_B = new_key(), new_key()


def keys(**archive_keys: str) -> Settings:
    return Settings(secrets_file=None, codec_keys={}, archive_keys=archive_keys)


def test_an_archive_opens_to_its_history_also_after_the_key_is_rotated():
    sealed = seal(HISTORY, "moazara-4-ASSO-0001", "run-1", keys(a=KEY_A))
    assert HISTORY.encode() not in sealed and b"eventId" not in sealed
    assert seal(HISTORY, "moazara-4-ASSO-0001", "run-1", keys(a=KEY_A)) == sealed  # the same bytes again
    found, text = open_sealed(sealed, keys(a=KEY_A))
    assert text == HISTORY and (found.workflow_id, found.run_id, found.key_id) == ("moazara-4-ASSO-0001", "run-1", "a")
    rotated = Settings(secrets_file=None, codec_keys={}, archive_keys={"a": KEY_A, "b": KEY_B}, archive_encrypt_key="b")
    assert open_sealed(sealed, rotated)[1] == HISTORY
    assert label(seal(HISTORY, "moazara-4-ASSO-0001", "run-1", rotated)).key_id == "b"


def test_without_archive_keys_the_payload_keys_seal():
    payload_keys = Settings(secrets_file=None, codec_keys={"p": KEY_A}, codec_encrypt_key="p")
    assert label(seal(HISTORY, "w", "r", payload_keys)).key_id == "p"
    with pytest.raises(ArchiveError, match="no archive key configured"):
        seal(HISTORY, "w", "r", Settings(secrets_file=None, codec_keys={}))


def test_archives_sealed_with_the_payload_keys_still_open_once_an_archive_key_seals():
    before = Settings(secrets_file=None, codec_keys={"p": KEY_A}, codec_encrypt_key="p")
    sealed = seal(HISTORY, "w", "r", before)
    assert seals_with_payload_keys(before)
    after = Settings(secrets_file=None, codec_keys={"p": KEY_A}, codec_encrypt_key="p", archive_keys={"a": KEY_B})
    assert not seals_with_payload_keys(after)
    assert open_sealed(sealed, after)[1] == HISTORY and label(seal(HISTORY, "w", "r", after)).key_id == "a"
    assert KEY_B in secret_values(after)  # masked in every log line, as the payload keys are
    payload_gone = Settings(
        secrets_file=None, codec_keys={"q": KEY_B}, codec_encrypt_key="q", archive_keys={"a": KEY_B}
    )
    with pytest.raises(ArchiveError, match=r"sealed with key 'p', which is not configured \(known: \['a', 'q'\]\)"):
        open_sealed(sealed, payload_gone)


def test_an_altered_relabelled_or_unknown_key_archive_is_refused():
    sealed = seal(HISTORY, "moazara-4-ASSO-0001", "run-1", keys(a=KEY_A))
    altered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(ArchiveError, match="does not open with key 'a'"):
        open_sealed(altered, keys(a=KEY_A))
    relabelled = sealed.replace(b"moazara-4-ASSO-0001", b"moazara-4-ASSO-0002")
    with pytest.raises(ArchiveError, match="moazara-4-ASSO-0002 run run-1: does not open"):
        open_sealed(relabelled, keys(a=KEY_A))
    with pytest.raises(ArchiveError, match=r"sealed with key 'a', which is not configured \(known: \['b'\]\)") as e:
        open_sealed(sealed, keys(b=KEY_B))
    assert KEY_A not in str(e.value) and KEY_B not in str(e.value)
    with pytest.raises(ArchiveError, match="not a history archive"):
        open_sealed(b"%PDF-1.4 something else", keys(a=KEY_A))
    with pytest.raises(ArchiveError, match="archive key 'a': not base64"):
        seal(HISTORY, "w", "r", keys(a="not a key!"))
