"""Signed checkpoints of the audit chain: an Ed25519 key kept outside the database.

Threat model
------------
The audit trail (``audit_events``) is a hash chain: every row's hash covers its content and the
hash of the row before it, so changing, inserting or removing a row breaks every later link.
A chain alone does not stop someone who can write to the database (a DB administrator, a stolen
backup restored with changes, an attacker with the database credentials): they can change a
row and then recompute every later hash, and the chain verifies again.

A *checkpoint* closes that gap. It is ``{"seq", "hash", "at"}`` - the chain's head at an instant
- signed with an Ed25519 private key that lives in a file on the application host (setting
``DOCANALYSIS_AUDIT_KEY``, created with permissions 0600 on first use), never in the database.
Checkpoints are appended, one JSON object a line, to ``audit_checkpoints.jsonl`` next to the
key, and the latest one travels in every audit export (docanalysis.services.audit_export).

* Someone who rewrites history and recomputes the whole chain cannot forge a checkpoint
  signature without the key: the row at a checkpoint's seq no longer has the signed hash.
* Deleting the tail of the chain (the most recent events) leaves a chain that verifies, but it
  now ends before the last checkpoint's seq: caught.
* What the key cannot protect: events appended after the latest checkpoint (checkpoint often:
  the window of exposure is the interval between checkpoints), and an attacker who holds both
  the database and the key file (keep them on different hosts or volumes, back the key up
  separately; its public half is in every export so a recipient can pin it).

Checkpoint format: the signature is over the canonical JSON (docanalysis.core.audit_chain) of
``{"at": ..., "hash": ..., "seq": ...}``, UTF-8, where ``at`` is the UTC timestamp text
``2026-01-02T03:04:05.000006Z``. The stored dict adds ``signature`` (base64 of the 64 raw bytes)
and ``public_key`` (the signer's public key, PEM).

This module never touches the database; recording a checkpoint of the live chain (which first
verifies the rows since the previous checkpoint) is docanalysis.services.audit_export.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from docanalysis.core.audit_chain import canonical_json, format_timestamp

log = logging.getLogger(__name__)

CHECKPOINTS_FILENAME = "audit_checkpoints.jsonl"
CHECKPOINT_FIELDS = ("seq", "hash", "at", "signature", "public_key")


class CheckpointError(ValueError):
    """The checkpoint file holds a line that is not a valid checkpoint of the current key."""


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in `path` (PKCS#8 PEM); created there, mode 0600, if absent.

    Creation is atomic: the key is written to a private temporary file in the same folder and
    hard-linked into place, so two processes starting at once end up with the same key and no
    reader ever sees a half-written file.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # mkstemp creates the file with mode 0600 whatever the umask.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".audit_key_")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass  # another process created it first: use theirs
            except OSError:
                _create_exclusive(path, pem)  # a file system without hard links
        finally:
            os.unlink(temporary)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("audit signing key %s is readable by others (mode %o); use 0600", path, mode)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def _create_exclusive(path: Path, pem: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public half as SubjectPublicKeyInfo PEM text (what `openssl pkeyutl -pubin` reads)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; ValueError if it is anything else."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except UnsupportedAlgorithm as exc:
        raise ValueError(f"not an Ed25519 public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def same_public_key(a: str | bytes, b: str | bytes) -> bool:
    """Whether two PEM texts hold the same key (whitespace and line breaks do not matter)."""
    try:
        raw_a = load_public_key(a).public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        raw_b = load_public_key(b).public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    except ValueError:
        return False
    return raw_a == raw_b


def sign_bytes(key: Ed25519PrivateKey, data: bytes) -> bytes:
    """The 64-byte Ed25519 signature of `data`."""
    return key.sign(data)


def verify_bytes(public_pem: str | bytes, data: bytes, signature: bytes) -> bool:
    """Whether `signature` is a valid Ed25519 signature of `data` under the PEM public key."""
    try:
        load_public_key(public_pem).verify(signature, data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def checkpoint_payload(seq: int, head_hash: str, at: datetime | str) -> bytes:
    """The exact bytes a checkpoint signs: canonical JSON of {"at", "hash", "seq"}, UTF-8."""
    when = at if isinstance(at, str) else format_timestamp(at)
    return canonical_json({"seq": seq, "hash": head_hash, "at": when}).encode("utf-8")


def sign_checkpoint(
    key: Ed25519PrivateKey, seq: int, head_hash: str, at: datetime
) -> dict[str, Any]:
    """A signed checkpoint of the chain's head: {seq, hash, at, signature, public_key}."""
    signature = key.sign(checkpoint_payload(seq, head_hash, at))
    return {
        "seq": seq,
        "hash": head_hash,
        "at": format_timestamp(at),
        "signature": base64.b64encode(signature).decode("ascii"),
        "public_key": public_key_pem(key),
    }


def verify_checkpoint(checkpoint: Mapping[str, Any], public_key_pem: str | bytes) -> bool:
    """Whether the checkpoint's signature is valid under `public_key_pem` (the key you trust,
    not necessarily the one the checkpoint names). A malformed checkpoint is simply invalid."""
    seq, head_hash, at = checkpoint.get("seq"), checkpoint.get("hash"), checkpoint.get("at")
    if not isinstance(seq, int) or isinstance(seq, bool):
        return False
    if not isinstance(head_hash, str) or not isinstance(at, str):
        return False
    try:
        signature = base64.b64decode(str(checkpoint.get("signature", "")), validate=True)
    except (binascii.Error, ValueError):
        return False
    return verify_bytes(public_key_pem, checkpoint_payload(seq, head_hash, at), signature)


def checkpoints_path(key_path: Path) -> Path:
    """Where the checkpoints of the key in `key_path` are kept: the same folder."""
    return Path(key_path).with_name(CHECKPOINTS_FILENAME)


def append_checkpoint(path: Path, checkpoint: Mapping[str, Any]) -> None:
    """Append one checkpoint as a JSON line (one write with O_APPEND, then fsync)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (canonical_json(dict(checkpoint)) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_checkpoints(path: Path) -> Iterator[dict[str, Any]]:
    """Every checkpoint in the file, oldest first; CheckpointError names a malformed line."""
    path = Path(path)
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CheckpointError(f"{path.name} line {number}: not JSON ({exc})") from exc
            if not isinstance(value, dict) or any(f not in value for f in CHECKPOINT_FIELDS):
                raise CheckpointError(f"{path.name} line {number}: not a checkpoint")
            yield value


def latest_checkpoint(path: Path, public_pem: str) -> dict[str, Any] | None:
    """The most recent checkpoint signed by the key `public_pem`, or None if there is none.

    Lines of another (retired) key are skipped; a line that names the current key but whose
    signature does not verify raises CheckpointError: someone edited the file.
    """
    latest: dict[str, Any] | None = None
    for checkpoint in read_checkpoints(path):
        if not same_public_key(str(checkpoint["public_key"]), public_pem):
            continue
        if not verify_checkpoint(checkpoint, public_pem):
            raise CheckpointError(
                f"{Path(path).name}: the checkpoint at seq {checkpoint.get('seq')} has an "
                "invalid signature"
            )
        latest = checkpoint
    return latest


__all__ = [
    "CHECKPOINTS_FILENAME",
    "CheckpointError",
    "append_checkpoint",
    "checkpoint_payload",
    "checkpoints_path",
    "latest_checkpoint",
    "load_or_create_key",
    "load_public_key",
    "public_key_pem",
    "read_checkpoints",
    "same_public_key",
    "sign_bytes",
    "sign_checkpoint",
    "verify_bytes",
    "verify_checkpoint",
]
