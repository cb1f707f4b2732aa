"""Checking an audit export ZIP on its own, as a third party would.

`verify_export` checks every file against the signed manifest and SHA256SUMS, the signatures,
every event's hash, the chain through events.jsonl and links.jsonl, and the signed checkpoint,
and names the FIRST problem, starting with the file it concerns. The layout it expects is
services.audit_export_format's, the one services.audit_export writes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docanalysis.audit_signing import (
    checkpoint_payload,
    load_public_key,
    same_public_key,
    verify_bytes,
    verify_checkpoint,
)
from docanalysis.services.audit_export_format import (
    ALWAYS,
    CHECKPOINT_SIG,
    CHECKPOINT_UNSIGNED,
    CHUNK,
    EVENTS,
    EXPORT_FORMAT,
    HASHED_FILES,
    LINKS,
    MANIFEST,
    MANIFEST_FIELDS,
    MANIFEST_SIG,
    MANIFEST_UNSIGNED,
    PUBLIC_KEY,
    REPORT,
    SUMS,
    SUMS_LINE,
    manifest_bytes,
    signed_bytes,
)
from docanalysis.services.audit_export_verify_rows import ExportProblem, RowsCheck


@dataclass(frozen=True)
class ExportCheck:
    """The verdict on an export ZIP: `problem` names the first thing wrong, file first."""

    ok: bool
    problem: str = ""
    events: int = 0
    links: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoint_checked: bool = False
    notes: tuple[str, ...] = ()


# What reading a damaged member raises: a bad CRC, a corrupt deflate stream, a short file.
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError)


def verify_export(zip_path: Path, *, trusted_public_key: str | None = None) -> ExportCheck:
    """Check an export ZIP on its own: every file against the manifest and SHA256SUMS, the
    manifest's signature (by the included key and, if given, `trusted_public_key` PEM), every
    event's hash, the chain through events and links, and the signed checkpoint."""
    verifier = _Verifier(Path(zip_path), trusted_public_key)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            verifier.archive = archive
            verifier.run()
    except ExportProblem as failed:
        return verifier.result(str(failed))
    except (zipfile.BadZipFile, OSError) as exc:
        return verifier.result(f"{Path(zip_path).name}: not a readable ZIP file ({exc})")
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # A value of an unexpected type that the checks above did not foresee: still a
        # verdict, naming the file being checked, never a crash.
        name = type(exc).__name__
        return verifier.result(f"{verifier.stage}: cannot be checked ({name}: {exc})")
    return verifier.result("")


class _Verifier:
    """One check of one ZIP: the checks in order (`run`) and what they found so far."""

    def __init__(self, path: Path, trusted: str | None) -> None:
        self.path = path
        self.trusted = trusted
        self.archive: zipfile.ZipFile | None = None
        self.rows = RowsCheck(self.lines)
        self.checkpoint_checked = False
        self.notes: list[str] = []
        self.stage = MANIFEST  # the file being checked, for an unforeseen error

    def result(self, problem: str) -> ExportCheck:
        return ExportCheck(
            ok=not problem,
            problem=problem,
            events=self.rows.events,
            links=self.rows.links,
            first_seq=self.rows.first_seq,
            last_seq=self.rows.last_seq,
            checkpoint_checked=self.checkpoint_checked,
            notes=tuple(self.notes),
        )

    # -- reading members --

    @property
    def zip(self) -> zipfile.ZipFile:
        assert self.archive is not None
        return self.archive

    def read(self, name: str) -> bytes:
        try:
            return self.zip.read(name)
        except _DAMAGED as exc:
            raise ExportProblem(f"{name}: damaged in the ZIP ({exc})") from exc

    def sha256(self, name: str) -> str:
        digest = hashlib.sha256()
        try:
            with self.zip.open(name) as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
        except _DAMAGED as exc:
            raise ExportProblem(f"{name}: damaged in the ZIP ({exc})") from exc
        return digest.hexdigest()

    def lines(self, name: str) -> Iterator[tuple[int, str]]:
        try:
            with self.zip.open(name) as handle:
                text = io.TextIOWrapper(handle, encoding="utf-8", newline="\n")
                yield from enumerate(text, start=1)
        except UnicodeDecodeError as exc:
            raise ExportProblem(f"{name}: cannot be read as UTF-8 text ({exc})") from exc
        except _DAMAGED as exc:
            raise ExportProblem(f"{name}: damaged in the ZIP ({exc})") from exc

    # -- the checks, in order --

    def run(self) -> None:
        names = self.zip.namelist()
        duplicates = [name for name, n in Counter(names).items() if n > 1]
        if duplicates:
            raise ExportProblem(f"{duplicates[0]} appears twice in the ZIP")
        present = set(names)
        for name in ALWAYS:
            if name not in present:
                raise ExportProblem(f"{name} is missing")
        manifest = self.manifest()
        checkpoint = manifest["checkpoint"]
        expected = set(ALWAYS)
        if checkpoint is not None:
            expected |= {CHECKPOINT_UNSIGNED, CHECKPOINT_SIG}
            for name in (CHECKPOINT_UNSIGNED, CHECKPOINT_SIG):
                if name not in present:
                    raise ExportProblem(f"{name} is missing")
        for name in names:
            if name not in expected:
                raise ExportProblem(
                    f"{name} is not part of an export (the manifest does not list it)"
                )
        public = self.signature(manifest)
        self.file_hashes(manifest, expected)
        if not same_public_key(self.read(PUBLIC_KEY), public):
            raise ExportProblem(f"{PUBLIC_KEY}: differs from the key in {MANIFEST}")
        self.stage = SUMS
        self.sums(names)
        self.stage = MANIFEST
        if checkpoint is not None:
            self.checkpoint_files(checkpoint, public)
        if not self.read(REPORT).startswith(b"%PDF-"):
            raise ExportProblem(f"{REPORT}: not a PDF file")
        self.stage = EVENTS
        rows = self.rows.chain(manifest)
        self.stage = MANIFEST
        self.checkpoint_in_chain(manifest, rows)

    def manifest(self) -> dict[str, Any]:
        try:
            manifest = json.loads(self.read(MANIFEST).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ExportProblem(f"{MANIFEST}: not valid JSON ({exc})") from exc
        if not isinstance(manifest, dict):
            raise ExportProblem(f"{MANIFEST}: not a JSON object")
        for name, shape in MANIFEST_FIELDS.items():
            if name not in manifest or not isinstance(manifest[name], shape):
                raise ExportProblem(f"{MANIFEST}: lacks a valid '{name}'")
        chain = manifest["chain"]
        if chain is not None:
            for name, kind in (("from_seq", int), ("to_seq", int)):
                if not isinstance(chain.get(name), kind):
                    raise ExportProblem(f"{MANIFEST}: lacks a valid 'chain.{name}'")
            for name in ("from_prev_hash", "to_hash"):
                if not isinstance(chain.get(name), str):
                    raise ExportProblem(f"{MANIFEST}: lacks a valid 'chain.{name}'")
        if manifest["format"] != EXPORT_FORMAT:
            raise ExportProblem(f"{MANIFEST}: format {manifest['format']!r} is not {EXPORT_FORMAT}")
        return manifest

    def signature(self, manifest: dict[str, Any]) -> str:
        public = str(manifest["public_key"])
        try:
            load_public_key(public)
        except ValueError as exc:
            raise ExportProblem(f"{MANIFEST}: the public key is not an Ed25519 PEM key") from exc
        if self.trusted is not None and not same_public_key(public, self.trusted):
            raise ExportProblem(f"{MANIFEST}: signed by a key other than the trusted one")
        try:
            signature = base64.b64decode(manifest["signature"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ExportProblem(f"{MANIFEST}: the signature is not base64") from exc
        unsigned_bytes = signed_bytes(manifest)
        if not verify_bytes(public, unsigned_bytes, signature):
            raise ExportProblem(
                f"{MANIFEST}: the signature does not verify (the manifest was changed)"
            )
        if self.read(MANIFEST_UNSIGNED) != unsigned_bytes:
            raise ExportProblem(
                f"{MANIFEST_UNSIGNED}: differs from {MANIFEST} without its signature"
            )
        if self.read(MANIFEST_SIG) != signature:
            raise ExportProblem(f"{MANIFEST_SIG}: differs from the signature in {MANIFEST}")
        if self.read(MANIFEST) != manifest_bytes(manifest):
            raise ExportProblem(f"{MANIFEST}: not laid out as written (its bytes were changed)")
        return public

    def file_hashes(self, manifest: dict[str, Any], expected: set[str]) -> None:
        listed = manifest["files"]
        for name in sorted(expected - {MANIFEST, MANIFEST_UNSIGNED, MANIFEST_SIG, SUMS}):
            if name not in listed:
                raise ExportProblem(f"{MANIFEST}: does not list {name}")
        for name in listed:
            if name not in expected:
                raise ExportProblem(f"{MANIFEST}: lists {name}, which an export does not have")
        for name in HASHED_FILES + (CHECKPOINT_UNSIGNED, CHECKPOINT_SIG):
            if name in listed and self.sha256(name) != listed[name]:
                raise ExportProblem(f"{name}: sha256 does not match the manifest")

    def sums(self, names: list[str]) -> None:
        """SHA256SUMS must list every other file once with its sha256. Every other file was
        already checked against the signed manifest (manifest.json itself byte for byte: its
        layout is fixed), so a wrong line is SHA256SUMS's fault."""
        try:
            text = self.read(SUMS).decode("ascii")
        except UnicodeDecodeError as exc:
            raise ExportProblem(f"{SUMS}: not ASCII text") from exc
        if not text.endswith("\n"):
            raise ExportProblem(f"{SUMS}: does not end with a line break")
        listed: dict[str, str] = {}
        for number, line in enumerate(text[:-1].split("\n"), start=1):
            match = SUMS_LINE.fullmatch(line)
            if match is None:
                raise ExportProblem(f"{SUMS}: line {number} is not '<sha256>  <file name>'")
            digest, name = match.groups()
            if name in listed:
                raise ExportProblem(f"{SUMS}: lists {name} twice")
            if name not in names or name == SUMS:
                raise ExportProblem(f"{SUMS}: lists {name}, which is not in the export")
            listed[name] = digest
        for name in names:
            if name != SUMS and name not in listed:
                raise ExportProblem(f"{SUMS}: does not list {name}")
        for name, digest in listed.items():
            if self.sha256(name) != digest:
                raise ExportProblem(f"{SUMS}: the sha256 of {name} is wrong")

    def checkpoint_files(self, checkpoint: Mapping[str, Any], public: str) -> None:
        key = self.trusted if self.trusted is not None else public
        if not verify_checkpoint(checkpoint, key):
            raise ExportProblem(f"{MANIFEST}: the checkpoint's signature does not verify")
        payload = checkpoint_payload(checkpoint["seq"], checkpoint["hash"], checkpoint["at"])
        if self.read(CHECKPOINT_UNSIGNED) != payload:
            raise ExportProblem(f"{CHECKPOINT_UNSIGNED}: differs from the checkpoint in {MANIFEST}")
        if self.read(CHECKPOINT_SIG) != base64.b64decode(checkpoint["signature"]):
            raise ExportProblem(f"{CHECKPOINT_SIG}: differs from the checkpoint's signature")

    def checkpoint_in_chain(
        self, manifest: dict[str, Any], found: dict[int, tuple[str, str]]
    ) -> None:
        checkpoint = manifest["checkpoint"]
        if checkpoint is None:
            self.notes.append("no signed checkpoint was included")
            return
        chain = manifest["chain"]
        seq = checkpoint["seq"]
        if seq in found:
            recorded, where = found[seq]
            if recorded != checkpoint["hash"]:
                raise ExportProblem(
                    f"{where}: hash differs from the checkpoint signed at {checkpoint['at']} "
                    "(the history was rewritten)"
                )
            self.checkpoint_checked = True
            return
        open_ended = manifest["scope"].get("until") is None
        if chain is not None and seq > chain["to_seq"] and open_ended:
            raise ExportProblem(
                f"{LINKS}: the chain ends at seq {chain['to_seq']}, before the checkpoint signed "
                f"at {checkpoint['at']} for seq {seq} (rows were removed from its end)"
            )
        if chain is None and open_ended and manifest["head"].get("seq", 0) < seq:
            raise ExportProblem(
                f"{MANIFEST}: the chain's head (seq {manifest['head'].get('seq')}) lies before "
                f"the checkpoint signed at {checkpoint['at']} for seq {seq}"
            )
        self.notes.append(
            f"the checkpoint (seq {seq}) lies outside the exported rows: only its signature "
            "was checked"
        )


__all__ = ["ExportCheck", "verify_export"]
