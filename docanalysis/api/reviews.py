"""POST /api/v1/findings/{id}/review: a reviewer's decision on a clause from a document-
management system, as on the document page (docanalysis/services/corrections.py): confirm,
reject, or correct its category, value or span; the system quotes a corrected span itself.
Read back in each clause's `review` of the document's results."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from docanalysis.api import params
from docanalysis.api import serializers as s
from docanalysis.api.views import ERRORS, actor_of, principal_of
from docanalysis.db.tables import MAX_ID, REVIEW_DECISIONS
from docanalysis.services import api_queries, corrections
from docanalysis.web.views.common import runtime


class ReviewRequest(serializers.Serializer[Any]):
    decision = serializers.ChoiceField(choices=REVIEW_DECISIONS)
    category = params.text(100, help_text="corrected: the clause category's key.")
    value = params.text(2000, help_text="corrected: the normalized value.")
    start = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_ID,
        help_text="corrected: the span's first "
        "character in the document's text (GET .../text); with `end`.",
    )
    end = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    note = params.text(2000, help_text="Why, for whoever reads the review.")


class ReviewView(APIView):
    @extend_schema(
        operation_id="findings_review",
        request=ReviewRequest,
        responses={201: s.ReviewSerializer, **ERRORS},
    )
    def post(self, request: Request, finding_id: int) -> Response:
        """Confirm, reject or correct a clause of a document in the key's scope. A decision
        that cannot stand (a held clause, a span outside the text, a correction that changes
        nothing) is 400 with the reason."""
        rt = runtime()
        form = ReviewRequest(data=request.data)
        form.is_valid(raise_exception=True)
        fields = form.validated_data
        document_id = corrections.document_of(rt, finding_id)
        api_queries.document(rt, principal_of(request), document_id)  # in scope, or 404
        asked = corrections.Decision(
            decision=fields["decision"],
            category=fields.get("category") or None,
            value=fields.get("value") or None,
            start=fields.get("start"),
            end=fields.get("end"),
            note=fields.get("note") or "",
        )
        _, review = corrections.review_finding(rt, actor_of(request), finding_id, asked)
        return Response(s.ReviewSerializer(review).data, status=status.HTTP_201_CREATED)
