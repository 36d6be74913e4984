"""Sealed anonymous answers: unreadable in the database while their round is open.

An anonymous answer is encrypted when it arrives (AES-GCM, the ``cryptography`` package)
with a key of its round, derived from the server's secret (HKDF-SHA256, one key per round
and purpose). Its row carries a tag instead of the person: an HMAC of the person's platform
identity under another key of the round, so the server (and nobody without its secret) can
find a person's sealed answer again, to withdraw it on ``forget-me``, while the database
alone cannot tell whose it is.

Every sealed answer has the same size (``SEALED_SIZE``, room for the longest answer an
anonymous round takes: 1,000 characters of any script, four bytes each, and its scores).
Someone holding the database can pair a sealed row with the person who took part (they are
written in one transaction); a size would then tell which answer, once opened, was theirs.

When the round closes the sealed answers are opened and written as plain anonymous replies,
all in one transaction and in random order (``storage.answers.close``): from then on the
rows hold no tag, no time and no order that pairs them with who took part.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"  # first byte of every sealed answer: how it was sealed
NONCE = 12
SEALED_SIZE = 5 * 1024  # every sealed answer's plaintext, padded (``MAX_ANONYMOUS_TEXT``)


class UnsealError(Exception):
    """A sealed answer this server cannot open (another secret, or damaged bytes)."""


class TooLongToSeal(ValueError):
    """An answer larger than ``SEALED_SIZE``: anonymous answers are limited so that none is."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SealedAnswer:
    """An anonymous answer as stored while its round is open."""

    occurrence_id: int
    tag: str
    sealed: bytes


def person_key(platform: str, workspace_id: str, user_id: str) -> bytes:
    return "\x00".join((platform, workspace_id, user_id)).encode("utf-8")


def _padded(raw: bytes) -> bytes:
    """``raw`` and a 0x80 marker, zero-filled to ``SEALED_SIZE``."""
    if len(raw) + 1 > SEALED_SIZE:
        raise TooLongToSeal(f"{len(raw)} bytes do not fit a sealed answer")
    return raw + b"\x80" + bytes(SEALED_SIZE - len(raw) - 1)


def _unpadded(padded: bytes) -> bytes:
    end = padded.rstrip(b"\x00")
    if not end.endswith(b"\x80"):
        raise UnsealError("bad padding")
    return end[:-1]


class Sealer:
    """Seals and opens the anonymous answers of rounds with keys derived from one secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("a sealing secret has at least 16 bytes")
        self._secret = secret
        self._round_keys = functools.lru_cache(maxsize=1024)(self._derive)

    def _derive(self, occurrence_id: int) -> tuple[AESGCM, bytes]:
        keys = HKDF(
            algorithm=hashes.SHA256(),
            length=64,
            salt=None,
            info=b"ritme/sealed-answers/v1/" + str(int(occurrence_id)).encode("ascii"),
        ).derive(self._secret)
        return AESGCM(keys[:32]), keys[32:]

    def tag(self, occurrence_id: int, person: bytes) -> str:
        """Who sealed an answer, as only this server can tell: the same for one person in
        one round, unrelated across rounds."""
        _cipher, tag_key = self._round_keys(occurrence_id)
        return hmac.new(tag_key, person, hashlib.sha256).hexdigest()

    def seal(self, occurrence_id: int, person: bytes, values: dict[str, Any]) -> SealedAnswer:
        return self.seal_as(occurrence_id, self.tag(occurrence_id, person), values)

    def seal_as(self, occurrence_id: int, tag: str, values: dict[str, Any]) -> SealedAnswer:
        """Seal ``values`` for the person of ``tag`` (an answer sealed anew, changed)."""
        cipher, _tag_key = self._round_keys(occurrence_id)
        nonce = os.urandom(NONCE)
        plain = _padded(json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        sealed = VERSION + nonce + cipher.encrypt(nonce, plain, self._bound(occurrence_id, tag))
        return SealedAnswer(occurrence_id=occurrence_id, tag=tag, sealed=sealed)

    def open(self, answer: SealedAnswer) -> dict[str, Any]:
        """The values of a sealed answer; ``UnsealError`` when this server cannot open it."""
        cipher, _tag_key = self._round_keys(answer.occurrence_id)
        blob = bytes(answer.sealed)
        if not blob.startswith(VERSION) or len(blob) < 1 + NONCE + 16:
            raise UnsealError("not a sealed answer")
        try:
            plain = cipher.decrypt(
                blob[1 : 1 + NONCE], blob[1 + NONCE :], self._bound(answer.occurrence_id, answer.tag)
            )
            values = json.loads(_unpadded(plain))
        except (InvalidTag, ValueError) as err:
            raise UnsealError(str(err) or type(err).__name__) from None
        if not isinstance(values, dict):
            raise UnsealError("not an answer")
        return values

    @staticmethod
    def _bound(occurrence_id: int, tag: str) -> bytes:
        """What a sealed answer is bound to: its round and its tag (a row moved to another
        round or person does not open)."""
        return f"{int(occurrence_id)}:{tag}".encode("ascii")
