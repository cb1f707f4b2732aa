"""The two files of an audit export written for people: report.pdf and README.txt.

The README tells a third party how to verify the export with sha256sum, openssl and a short
Python script (check_chain.py, between README_BEGIN and README_END) that needs only the
standard library; the layout it describes is services.audit_export_format's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from docanalysis.core.audit_chain import canonical_json
from docanalysis.pdf_report import Column, PdfReport
from docanalysis.services.audit_export_files import RowsWritten
from docanalysis.services.audit_export_format import EXPORT_FORMAT

# The lines around check_chain.py in README.txt, so that a reader (or a test) can cut it out.
README_BEGIN = "# --- begin check_chain.py ---"
README_END = "# --- end check_chain.py ---"


def report_pdf(
    scope_text: str,
    manifest: Mapping[str, Any],
    data: RowsWritten,
    problems: list[str],
    created: datetime,
) -> bytes:
    """report.pdf: the summary, the checkpoint, any problems seen while exporting, the events.
    `scope_text`: the scope in words (ExportScope.describe)."""
    pdf = PdfReport("Audit trail export", created_at=created)
    pdf.heading("Audit trail export")
    pdf.line(f"Created: {manifest['created_at']}")
    pdf.line(f"Scope: {scope_text}")
    pdf.line(f"Format: {EXPORT_FORMAT}")
    pdf.heading("Summary", size=11)
    pdf.line(f"Events: {data.events}")
    pdf.line(f"Other rows of the chain in the covered range (links only): {data.links}")
    if data.first and data.last and data.chain:
        pdf.line(f"First event: seq {data.first['seq']}, hash {data.first['hash']}")
        pdf.line(f"Last event: seq {data.last['seq']}, hash {data.last['hash']}")
        pdf.line(
            f"Covered range: seq {data.chain['from_seq']} to {data.chain['to_seq']}, "
            f"starting after prev_hash {data.chain['from_prev_hash']}"
        )
    else:
        pdf.line("No event matches the scope.")
    pdf.line(f"Chain head at export: seq {data.head[0]}, hash {data.head[1]}")
    if data.by_action:
        pdf.heading("Events per action", size=11)
        pdf.table(
            [Column("Action", 300), Column("Count", 80)],
            [(action, str(count)) for action, count in sorted(data.by_action.items())],
        )
    pdf.heading("Signed checkpoint", size=11)
    checkpoint = manifest["checkpoint"]
    if checkpoint is None:
        pdf.line("None recorded yet.")
    else:
        pdf.line(f"Seq {checkpoint['seq']}, signed at {checkpoint['at']}")
        pdf.line(f"Hash {checkpoint['hash']}")
        chain = data.chain
        if chain and chain["from_seq"] <= checkpoint["seq"] <= chain["to_seq"]:
            pdf.line("The checkpoint lies inside the covered range; its row is in this export.")
        else:
            pdf.line("The checkpoint lies outside the covered range.")
    pdf.line(f"Public key sha256 (DER): {manifest['public_key_sha256']}")
    if problems:
        pdf.heading("PROBLEMS FOUND WHILE EXPORTING", size=11)
        for problem in problems:
            pdf.line(problem, bold=True)
    pdf.line("How to verify this export without our software: see README.txt.")
    pdf.heading("Events", size=11)
    pdf.table(
        [
            Column("Seq", 45),
            Column("Time (UTC)", 95),
            Column("Actor", 140),
            Column("Action", 110),
            Column("Subject", 76),
        ],
        data.table,
    )
    return pdf.to_bytes()


# Plain text, not an f-string: the script's own braces stay as they are.
_RECIPE_BODY = """\
import hashlib, json

def canon(value):  # the canonical JSON that the chain hashes
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)

def read(name):
    with open(name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]

with open("manifest_unsigned.json", encoding="utf-8") as f:
    m = json.load(f)  # the signed bytes: check them with openssl first
for name, digest in m["files"].items():
    with open(name, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == digest, name + ": sha256 differs"
rows = sorted(read("events.jsonl") + read("links.jsonl"), key=lambda r: r["seq"])
for i, r in enumerate(rows):
    if "action" in r:  # a whole event; a links.jsonl row has only seq, prev_hash and hash
        content = {k: v for k, v in r.items() if k != "hash"}
        digest = hashlib.sha256((r["prev_hash"] + canon(content)).encode("utf-8")).hexdigest()
        assert digest == r["hash"], f"seq {r['seq']}: the hash does not match the content"
    before = rows[i - 1] if i else {"seq": m["chain"]["from_seq"] - 1,
                                    "hash": m["chain"]["from_prev_hash"]}
    assert r["seq"] == before["seq"] + 1, f"seq {r['seq']}: a row is missing before it"
    assert r["prev_hash"] == before["hash"], f"seq {r['seq']}: does not link to seq {r['seq'] - 1}"
assert not rows or rows[0]["seq"] > 1 or rows[0]["prev_hash"] == "0" * 64
assert not rows or rows[-1]["hash"] == m["chain"]["to_hash"], "the chain's last row differs"
cp = m["checkpoint"]
if cp and rows and rows[0]["seq"] <= cp["seq"] <= rows[-1]["seq"]:
    assert rows[cp["seq"] - rows[0]["seq"]]["hash"] == cp["hash"], "differs from the checkpoint"
elif cp and rows and cp["seq"] > rows[-1]["seq"] and m["scope"]["until"] is None:
    raise AssertionError("the chain ends before the signed checkpoint: rows were removed")
print(f"chain OK: {len(rows)} rows, {m['counts']['events']} events")
"""
_RECIPE = f"{README_BEGIN}\n{_RECIPE_BODY}{README_END}\n"


def readme_text(manifest: Mapping[str, Any], with_checkpoint: bool) -> str:
    """README.txt for an export with this (unsigned) manifest."""
    chain = manifest["chain"]
    covered = (
        f"seq {chain['from_seq']} to {chain['to_seq']}" if chain else "nothing (no event matched)"
    )
    recipe = "".join("    " + line if line.strip() else "\n" for line in _RECIPE.splitlines(True))
    checkpoint_steps = ""
    if with_checkpoint:
        checkpoint_steps = (
            "\n   The checkpoint (the chain's head, signed earlier by the same key):\n\n"
            "    openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin \\\n"
            "        -in checkpoint_unsigned.json -sigfile checkpoint.sig\n"
        )
    return f"""\
AUDIT TRAIL EXPORT ({EXPORT_FORMAT})

Created:           {manifest["created_at"]}
Scope:             {canonical_json(manifest["scope"])}
Events:            {manifest["counts"]["events"]}
Covered range:     {covered} of the chain
Signing key:       sha256 of its DER form {manifest["public_key_sha256"]}

The audit trail is one hash chain for all clients: each row's hash is

    sha256(prev_hash + canonical JSON of the row without "hash"), over UTF-8 bytes

where prev_hash is the hash of the row before it (64 zeros before seq 1) and canonical JSON is
Python's json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False): keys sorted, no spaces, non-ASCII characters as themselves. Times are UTC
text with six fractional digits and a Z, e.g. 2026-03-01T09:30:00.123456Z. Each line of
events.jsonl is exactly such a row with its hash (outcome, request_id and client_address are
there, and hashed, only when not empty; events.csv shows every column). links.jsonl holds,
for the other rows of the chain inside the covered range (other clients, other matters), only
seq, prev_hash and hash: no content, but enough to show that the events form one unbroken
chain.

FILES

  events.jsonl            the events, one JSON object a line (this is what is hashed)
  events.csv              the same rows for a spreadsheet (details as JSON text); values are
                          exact, so a cell may begin with "=": do not let a spreadsheet run it
  links.jsonl             seq, prev_hash and hash of the other rows in the covered range
  report.pdf              the human-readable report
  manifest.json           scope, counts, sha256 of each file, the signed checkpoint, signature
  manifest_unsigned.json  the exact bytes that were signed (manifest.json without signature)
  manifest.sig            the raw Ed25519 signature of manifest_unsigned.json
  public_key.pem          the signing public key
  SHA256SUMS              sha256 of every other file

HOW TO VERIFY (standard tools only; run in the unzipped folder)

1. The files are complete and unchanged:

    sha256sum -c SHA256SUMS

2. The manifest was signed by our key (OpenSSL 3):

    openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin \\
        -in manifest_unsigned.json -sigfile manifest.sig
{checkpoint_steps}
   A signature only proves who signed if the key is ours: compare its fingerprint

    openssl pkey -pubin -in public_key.pem -outform DER | sha256sum

   with the one we publish or gave you separately (this export's is shown at the top).

3. Every event hashes to its recorded hash and the rows form one unbroken chain (Python 3,
   standard library only; save the lines between the markers as check_chain.py and run
   "python3 check_chain.py" here). It also checks each file against the signed manifest and
   the row at the signed checkpoint's seq, when that row is in the covered range; an export
   with no end date ("up to now") must also reach the checkpoint, or rows were removed.

{recipe}"""


__all__ = ["README_BEGIN", "README_END", "readme_text", "report_pdf"]
