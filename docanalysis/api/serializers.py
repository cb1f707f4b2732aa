"""The API's request and response shapes: they validate input and document the schema."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from docanalysis.api.params import text
from docanalysis.db.tables import RUN_STATES
from docanalysis.services.api_queries import ApiDocument
from docanalysis.services.views import (
    DocumentAnalysis,
    FindingView,
    PageText,
    ReviewView,
    RunStatus,
)

LOCATION_HELP = (
    'How to cite it in a Word file: "§ 3. Termination, ¶ 2" (section heading, paragraph in '
    'it; `page` is then the paragraph\'s number in the document). "" for a PDF or text page.'
)


class UploadRequest(serializers.Serializer[Any]):
    file = serializers.FileField(
        help_text="The PDF (checked by its content, not its name), Word file (.docx), UTF-8 "
        "text file (.txt), or a .zip of them (one document per file; see docs/uploads.md)."
    )
    matter = text(
        200,
        required=True,
        help_text="A matter's id, or your own reference for it (a tenant-wide key may name a "
        "new reference: the matter is created).",
    )
    external_system = text(100)
    external_id = text(500)
    external_version = text(100)
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        write_only=True,
        max_length=1000,
        help_text="The PDF's password, if it opens only with one: used once to store a "
        "decrypted copy, never stored or logged.",
    )


class UrlUploadRequest(serializers.Serializer[Any]):
    url = text(
        2000,
        required=True,
        help_text="An http(s) URL of the PDF (or .docx, .txt, .zip): the server fetches it "
        "(no redirects, no "
        "user:password@, no private addresses; the upload limit applies).",
    )
    matter = text(
        200,
        required=True,
        help_text="A matter's id, or your own reference for it (as for an upload).",
    )
    external_system = text(100)
    external_id = text(500)
    external_version = text(100)


class RunStatusSerializer(serializers.Serializer[RunStatus]):
    run_id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=RUN_STATES)
    label = serializers.CharField(help_text="The stage in words: 'Analyzing part 2 of 5'.")
    reason = serializers.CharField(help_text="Why the run failed or is held; empty otherwise.")
    stage_done = serializers.IntegerField()
    stage_total = serializers.IntegerField()
    final = serializers.BooleanField()
    updated_at = serializers.DateTimeField()


class RunSerializer(RunStatusSerializer):
    document_id = serializers.IntegerField()


class DocumentSerializer(serializers.Serializer[ApiDocument]):
    id = serializers.IntegerField(source="view.id")
    matter_id = serializers.IntegerField(source="view.matter_id")
    name = serializers.CharField(source="view.name")
    sha256 = serializers.CharField(source="view.sha256")
    size_bytes = serializers.IntegerField(source="view.size_bytes")
    pages = serializers.IntegerField(
        source="view.pages", allow_null=True, help_text="null for a Word file (no pages)."
    )
    media_type = serializers.CharField(source="view.media_type")
    source_path = serializers.CharField(
        source="view.source_path",
        allow_null=True,
        help_text="Where the file was in the .zip it came in; null for a file sent alone.",
    )
    uploaded_at = serializers.DateTimeField(source="view.uploaded_at")
    external_system = serializers.CharField(allow_null=True)
    external_id = serializers.CharField(allow_null=True)
    external_version = serializers.CharField(allow_null=True)
    run = RunStatusSerializer(source="view.status")


class DocumentPageSerializer(serializers.Serializer[Any]):
    results = DocumentSerializer(many=True)
    next_cursor = serializers.IntegerField(
        allow_null=True, help_text="Send it as `cursor` for the next page; null at the end."
    )


class AcceptedSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The document's id.")
    run_id = serializers.IntegerField()
    created = serializers.BooleanField(help_text="False: an earlier request's document.")
    status_url = serializers.CharField()


class BulkDocumentSerializer(AcceptedSerializer):
    name = serializers.CharField(help_text="The file's name.")
    path = serializers.CharField(help_text="Where the file was in the archive.")
    matter_id = serializers.IntegerField(help_text="Where it went (metadata.csv may say).")


class AcceptedOrBulkSerializer(serializers.Serializer[Any]):
    """One document's acceptance; for a .zip, `documents` instead, one per file."""

    id = serializers.IntegerField(required=False, help_text="The document's id.")
    run_id = serializers.IntegerField(required=False)
    created = serializers.BooleanField(
        required=False, help_text="False: an earlier request's document."
    )
    status_url = serializers.CharField(required=False)
    documents = BulkDocumentSerializer(
        many=True, required=False, help_text="A .zip's documents, one per file."
    )


class GuardSerializer(serializers.Serializer[FindingView]):
    status = serializers.CharField(help_text="released, flagged, held or pending")
    verdict = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField(), source="guard_categories")
    model = serializers.CharField(source="guard_model")
    policy_version = serializers.CharField(source="guard_policy_version")
    released_by = serializers.CharField()


class CitedProvisionSerializer(serializers.Serializer[Any]):
    n = serializers.IntegerField(help_text="The provision's number in the document.")
    page = serializers.IntegerField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    location = serializers.CharField(help_text=LOCATION_HELP)


class SentenceSerializer(serializers.Serializer[Any]):
    text = serializers.CharField()
    provisions = CitedProvisionSerializer(many=True, help_text="The provisions it rests on.")


class ReviewSerializer(serializers.Serializer[ReviewView]):
    """A reviewer's latest decision on a clause. A correction's text is the source's own
    words at [start, end) on `page`; the finding beside it keeps what the model said."""

    decision = serializers.ChoiceField(choices=["confirmed", "rejected", "corrected"])
    reviewer = serializers.CharField()
    reviewed_at = serializers.DateTimeField()
    category = serializers.CharField()
    category_name = serializers.CharField()
    value = serializers.CharField(allow_blank=True)
    text = serializers.CharField(allow_blank=True)
    page = serializers.IntegerField(allow_null=True)
    start = serializers.IntegerField(allow_null=True)
    end = serializers.IntegerField(allow_null=True)
    note = serializers.CharField(allow_blank=True)


class FindingSerializer(serializers.Serializer[FindingView]):
    """Text and value are empty while the guard holds the finding. They are the model's;
    a reviewer's decision is in `review` (null if none), and a rejected or corrected clause
    should be read from there."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    category = serializers.CharField()
    category_name = serializers.CharField()
    text = serializers.CharField()
    value = serializers.CharField()
    page = serializers.IntegerField(allow_null=True)
    location = serializers.CharField(help_text=LOCATION_HELP)
    start = serializers.IntegerField(allow_null=True)
    end = serializers.IntegerField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    basis = serializers.CharField()
    sentences = SentenceSerializer(
        many=True, help_text="A summary's sentences, each with the provisions it cites."
    )
    guard = GuardSerializer(source="*")
    review = ReviewSerializer(allow_null=True)


class ResultsSerializer(serializers.Serializer[DocumentAnalysis]):
    document_id = serializers.IntegerField(source="document.id")
    run = RunStatusSerializer(source="document.status")
    model_id = serializers.CharField()
    model_revision = serializers.CharField()
    summary = FindingSerializer(allow_null=True)
    clauses = FindingSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())


class PageTextSerializer(serializers.Serializer[PageText]):
    number = serializers.IntegerField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    text = serializers.CharField()
    ocr = serializers.BooleanField(help_text="Read by OCR: the page is a scan (docs/uploads.md).")
    ocr_confidence = serializers.FloatField(
        allow_null=True, help_text="Tesseract's mean word confidence, 0 to 1; null unless OCR."
    )


class TextSerializer(serializers.Serializer[Any]):
    document_id = serializers.IntegerField()
    page_count = serializers.IntegerField()
    pages = PageTextSerializer(many=True)


class ErrorBodySerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField()
    request_id = serializers.CharField()


class ErrorSerializer(serializers.Serializer[Any]):
    error = ErrorBodySerializer()
