"""Documents sent by a REST client: idempotent, scoped to the caller's key.

A create is idempotent twice over. The `Idempotency-Key` header: the same key with the same
request gets the first answer back (with another request: refused, 409). The document's
(external_system, external_id, external_version) in the tenant: the same triple is the same
document, whichever key or request sent it. Concurrent retries are decided one after the
other: under a lock on the triple (and the key) on PostgreSQL, by SQLite's single writer, and
in the last resort by the unique index, which refuses a second row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import Connection, and_, insert, select
from sqlalchemy.exc import IntegrityError

from docanalysis.db import repositories as repo
from docanalysis.db.engine import transaction
from docanalysis.db.tables import documents, idempotency_keys, matters
from docanalysis.services.apikeys import ApiPrincipal
from docanalysis.services.audit import record
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.runtime import Runtime
from docanalysis.services.submit import Upload, create_document, validate_upload
from docanalysis.services.views import Actor

MAX_RETRIES = 3


@dataclass(frozen=True)
class ApiUpload:
    """What a client sent: the file and where it keeps it. `matter` is a matter's id (digits)
    or the client's own reference for it."""

    filename: str
    data: bytes
    matter: str
    external_system: str | None = None
    external_id: str | None = None
    external_version: str | None = None
    idempotency_key: str | None = None

    def request_sha256(self, file_sha256: str | None = None) -> str:
        """What makes two requests the same: the bytes and every field. `file_sha256`: the
        bytes' digest, when the caller has it (hashing a large file again is not free)."""
        fields = {k: v for k, v in self.__dict__.items() if k not in ("data", "idempotency_key")}
        fields["sha256"] = file_sha256 or hashlib.sha256(self.data).hexdigest()
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class ApiSubmitted:
    document_id: int
    run_id: int
    created: bool  # False: an earlier request's document, returned again


def submit(rt: Runtime, principal: ApiPrincipal, actor: Actor, upload: ApiUpload) -> ApiSubmitted:
    """Create the document (or find the one an earlier request created); the run is enqueued
    after the commit when it is new."""
    _check_external(upload)
    name, media_type = validate_upload(upload.filename, upload.data, rt.settings.max_upload_bytes)
    sha256 = hashlib.sha256(upload.data).hexdigest()  # the one hash of the bytes
    # Written and fsynced before the transaction, so no lock waits on the disk (blobs.py).
    with rt.blobs.staging(upload.data, sha256) as staged:
        file = Upload(name, media_type, upload.data, sha256, staged=staged)
        result = _submit_retrying(rt, principal, actor, upload, file)
    if result.created:
        rt.queue.enqueue_run(result.run_id)
    return result


def _submit_retrying(
    rt: Runtime, principal: ApiPrincipal, actor: Actor, upload: ApiUpload, file: Upload
) -> ApiSubmitted:
    for attempt in range(MAX_RETRIES):
        try:
            with transaction(rt.engine) as conn:
                return _submit_once(conn, rt, principal, actor, upload, file)
        except IntegrityError:  # a concurrent twin committed first: read its answer next time
            if attempt == MAX_RETRIES - 1:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _check_external(upload: ApiUpload) -> None:
    triple = (upload.external_system, upload.external_id, upload.external_version)
    if any(triple) and not all(triple):
        raise Rejected(
            "external_system, external_id and external_version go together: send all three",
            code="invalid",
        )
    if upload.idempotency_key is not None and not 1 <= len(upload.idempotency_key) <= 200:
        raise Rejected("an Idempotency-Key has 1 to 200 characters", code="invalid")


def _submit_once(
    conn: Connection,
    rt: Runtime,
    principal: ApiPrincipal,
    actor: Actor,
    upload: ApiUpload,
    file: Upload,
) -> ApiSubmitted:
    request_sha256 = upload.request_sha256(file.sha256)
    _lock(conn, principal, upload)
    earlier = _by_idempotency_key(conn, principal, upload, request_sha256)
    if earlier is None:
        earlier = _by_external_ids(conn, principal, upload)
    if earlier is not None:
        _remember(conn, principal, upload, request_sha256, earlier)
        return earlier
    matter = _matter(conn, principal, actor, upload.matter)
    external = {
        "external_system": upload.external_system,
        "external_id": upload.external_id,
        "external_version": upload.external_version,
    }
    made = create_document(conn, rt, actor, matter, file, **external)
    result = ApiSubmitted(made.document_id, made.run_id, created=True)
    _remember(conn, principal, upload, request_sha256, result)
    return result


def _lock(conn: Connection, principal: ApiPrincipal, upload: ApiUpload) -> None:
    if upload.external_id is not None:
        triple = (upload.external_system, upload.external_id, upload.external_version)
        repo.lock_name(conn, f"external:{principal.tenant_id}:{json.dumps(triple)}")
    if upload.idempotency_key is not None:
        repo.lock_name(conn, f"idempotency:{principal.key_id}:{upload.idempotency_key}")


def _by_idempotency_key(
    conn: Connection, principal: ApiPrincipal, upload: ApiUpload, request_sha256: str
) -> ApiSubmitted | None:
    if upload.idempotency_key is None:
        return None
    query = select(idempotency_keys).where(
        and_(
            idempotency_keys.c.api_key_id == principal.key_id,
            idempotency_keys.c.key == upload.idempotency_key,
        )
    )
    found = conn.execute(query).first()
    if found is None:
        return None
    if found.request_sha256 != request_sha256:
        raise Rejected(
            "this Idempotency-Key was used for a different request", code="idempotency_conflict"
        )
    return ApiSubmitted(int(found.document_id), int(found.run_id), created=False)


def _by_external_ids(
    conn: Connection, principal: ApiPrincipal, upload: ApiUpload
) -> ApiSubmitted | None:
    if upload.external_id is None:
        return None
    query = select(documents).where(
        documents.c.tenant_id == principal.tenant_id,
        documents.c.external_system == upload.external_system,
        documents.c.external_id == upload.external_id,
        documents.c.external_version == upload.external_version,
    )
    found = conn.execute(query).first()
    if found is None:
        return None
    if not principal.may_use(int(found.matter_id)):
        raise NotFound("no such document")  # another matter's: not this key's to see
    if found.purged_at is not None:
        raise Rejected("this version of the document was deleted", code="gone")
    run = repo.latest_run(conn, int(found.id))
    assert run is not None  # every document is created with its run
    return ApiSubmitted(int(found.id), int(run.id), created=False)


def _remember(
    conn: Connection,
    principal: ApiPrincipal,
    upload: ApiUpload,
    request_sha256: str,
    result: ApiSubmitted,
) -> None:
    if upload.idempotency_key is None:
        return
    exists = conn.execute(
        select(idempotency_keys.c.key).where(
            idempotency_keys.c.api_key_id == principal.key_id,
            idempotency_keys.c.key == upload.idempotency_key,
        )
    ).first()
    if exists is None:
        values = {
            "api_key_id": principal.key_id,
            "key": upload.idempotency_key,
            "request_sha256": request_sha256,
            "document_id": result.document_id,
            "run_id": result.run_id,
            "created_at": repo.now(),
        }
        conn.execute(insert(idempotency_keys).values(**values))


def matter_in_scope(
    conn: Connection, principal: ApiPrincipal, actor: Actor, ref: str
) -> repo.Record:
    """The matter a client may add documents to, by id or reference (see _matter): for a
    bulk upload's archive and the matters its metadata.csv names."""
    return _matter(conn, principal, actor, ref)


def _matter(conn: Connection, principal: ApiPrincipal, actor: Actor, ref: str) -> repo.Record:
    """The matter named by id or by the client's reference; a tenant-wide key may name a new
    reference, which creates the matter."""
    ref = ref.strip()
    if not ref or len(ref) > 200:
        raise Rejected("a matter is an id or a reference of 1 to 200 characters", code="invalid")
    if ref.isdigit():
        found = repo.matter(conn, int(ref))
        if found is None or int(found.tenant_id) != principal.tenant_id:
            found = None
    else:
        # The row create_document needs, found by reference in one round trip.
        query = select(matters.c.id, matters.c.name, matters.c.tenant_id).where(
            matters.c.tenant_id == principal.tenant_id, matters.c.external_ref == ref
        )
        found = conn.execute(query).first()
        if found is None and principal.matter_ids is None:
            found = _create_matter(conn, principal, actor, ref)
    if found is None or not principal.may_use(int(found.id)):
        raise NotFound("no such matter")
    return found


def _create_matter(
    conn: Connection, principal: ApiPrincipal, actor: Actor, ref: str
) -> repo.Record:
    if repo.find_matter(conn, principal.tenant_id, ref) is not None:
        raise Rejected(
            f"a matter named {ref!r} exists without this reference; send its id",
            code="conflict",
        )
    matter_id = repo.create_matter(conn, principal.tenant_id, ref, external_ref=ref)
    record(
        conn,
        actor,
        "matter.created",
        f"matter:{matter_id}",
        tenant_id=principal.tenant_id,
        matter_id=matter_id,
        name=ref,
        external_ref=ref,
    )
    found = repo.matter(conn, matter_id)
    assert found is not None
    return found
