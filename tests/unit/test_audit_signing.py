"""Signed checkpoints: the key file, the signature, and the checkpoints file."""

from __future__ import annotations

import base64
import json
import shutil
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from docanalysis.audit_signing import (
    CheckpointError,
    append_checkpoint,
    checkpoint_payload,
    checkpoints_path,
    latest_checkpoint,
    load_or_create_key,
    public_key_pem,
    read_checkpoints,
    same_public_key,
    sign_checkpoint,
    verify_checkpoint,
)

AT = datetime(2026, 3, 1, 9, 30, 0, 5, tzinfo=UTC)
HEAD = "ab" * 32


def test_key_is_created_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "audit_signing_key.pem"
    key = load_or_create_key(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_key_pem(load_or_create_key(path)) == public_key_pem(key)
    assert [p.name for p in path.parent.iterdir()] == ["audit_signing_key.pem"]  # no temp left
    assert public_key_pem(key).startswith("-----BEGIN PUBLIC KEY-----")


def test_a_key_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    other = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ValueError, match="not hold an Ed25519 private key"):
        load_or_create_key(path)


def test_checkpoint_signs_the_canonical_json_of_seq_hash_at(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "k.pem")
    checkpoint = sign_checkpoint(key, 42, HEAD, AT)

    assert checkpoint_payload(42, HEAD, AT) == (
        b'{"at":"2026-03-01T09:30:00.000005Z","hash":"' + HEAD.encode() + b'","seq":42}'
    )
    assert checkpoint["at"] == "2026-03-01T09:30:00.000005Z"
    assert set(checkpoint) == {"seq", "hash", "at", "signature", "public_key"}
    assert len(base64.b64decode(checkpoint["signature"])) == 64
    assert verify_checkpoint(checkpoint, public_key_pem(key)) is True


@pytest.mark.parametrize(
    "change",
    [
        {"seq": 41},
        {"seq": True},
        {"hash": "cd" * 32},
        {"at": "2026-03-01T09:30:00.000006Z"},
        {"signature": "not base64!"},
        {"signature": base64.b64encode(b"\0" * 64).decode()},
    ],
)
def test_a_changed_checkpoint_does_not_verify(tmp_path: Path, change: dict[str, object]) -> None:
    key = load_or_create_key(tmp_path / "k.pem")
    checkpoint = {**sign_checkpoint(key, 42, HEAD, AT), **change}
    assert verify_checkpoint(checkpoint, public_key_pem(key)) is False


def test_only_the_trusted_key_counts(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "a.pem")
    other = load_or_create_key(tmp_path / "b.pem")
    checkpoint = sign_checkpoint(other, 42, HEAD, AT)
    # The checkpoint names its signer, but a verifier trusts only the key it was given.
    assert verify_checkpoint(checkpoint, public_key_pem(key)) is False
    assert verify_checkpoint(checkpoint, "not a key") is False
    assert same_public_key(public_key_pem(key), public_key_pem(key).replace("\n", "\r\n"))
    assert not same_public_key(public_key_pem(key), public_key_pem(other))


def test_checkpoints_file_keeps_the_latest_of_the_current_key(tmp_path: Path) -> None:
    key_path = tmp_path / "keys" / "audit_signing_key.pem"
    key = load_or_create_key(key_path)
    retired = load_or_create_key(tmp_path / "old.pem")
    path = checkpoints_path(key_path)
    assert path == tmp_path / "keys" / "audit_checkpoints.jsonl"
    assert latest_checkpoint(path, public_key_pem(key)) is None

    append_checkpoint(path, sign_checkpoint(key, 10, HEAD, AT))
    append_checkpoint(path, sign_checkpoint(key, 20, "cd" * 32, AT))
    append_checkpoint(path, sign_checkpoint(retired, 30, "ef" * 32, AT))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [c["seq"] for c in read_checkpoints(path)] == [10, 20, 30]
    latest = latest_checkpoint(path, public_key_pem(key))
    assert latest is not None and (latest["seq"], latest["hash"]) == (20, "cd" * 32)


def test_an_edited_checkpoint_line_is_an_error(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "k.pem")
    path = tmp_path / "audit_checkpoints.jsonl"
    forged = {**sign_checkpoint(key, 10, HEAD, AT), "seq": 11}
    append_checkpoint(path, forged)
    with pytest.raises(CheckpointError, match="seq 11 has an invalid signature"):
        latest_checkpoint(path, public_key_pem(key))

    path.write_text('{"seq": 1}\n', encoding="utf-8")
    with pytest.raises(CheckpointError, match="line 1: not a checkpoint"):
        latest_checkpoint(path, public_key_pem(key))
    path.write_text("{\n", encoding="utf-8")
    with pytest.raises(CheckpointError, match="line 1: not JSON"):
        list(read_checkpoints(path))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_verifies_a_checkpoint(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "k.pem")
    checkpoint = sign_checkpoint(key, 42, HEAD, AT)
    (tmp_path / "public_key.pem").write_text(checkpoint["public_key"], encoding="ascii")
    (tmp_path / "checkpoint.json").write_bytes(checkpoint_payload(42, HEAD, checkpoint["at"]))
    (tmp_path / "checkpoint.sig").write_bytes(base64.b64decode(checkpoint["signature"]))
    command = [
        "openssl",
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        "public_key.pem",
        "-rawin",
        "-in",
        "checkpoint.json",
        "-sigfile",
        "checkpoint.sig",
    ]
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    payload = json.loads((tmp_path / "checkpoint.json").read_text(encoding="utf-8"))
    payload["seq"] = 43
    (tmp_path / "checkpoint.json").write_text(json.dumps(payload), encoding="utf-8")
    bad = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert bad.returncode != 0
