"""Query parameters as serializers: one declaration both validates a request (400 `invalid`
with the field named) and documents the bounds in the schema (ids from 1, page sizes 1-100),
so a request the schema allows is one the API accepts."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers
from rest_framework.request import Request

from docanalysis.db.tables import MAX_ID, RUN_STATES

# Text the databases can store and compare: no NUL character (PostgreSQL refuses it), and,
# where a value is required, something besides spaces. As patterns, the schema says so too.
NO_NUL = RegexValidator(r"^[^\x00]*$", "NUL characters are not allowed.")
SOME_TEXT = RegexValidator(r"^[^\x00]*[^\s\x00][^\x00]*$", "Write some text (no NUL).")


def text(max_length: int, *, required: bool = False, **options: Any) -> serializers.CharField:
    """A text field: required ones need a visible character; optional ones may be blank
    (treated as absent)."""
    if required:
        return serializers.CharField(max_length=max_length, validators=[SOME_TEXT], **options)
    return serializers.CharField(
        max_length=max_length, required=False, allow_blank=True, validators=[NO_NUL], **options
    )


def _id(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text=help_text
    )


class DocumentListParams(serializers.Serializer[Any]):
    matter = _id("Only this matter's documents.")
    state = serializers.ChoiceField(choices=RUN_STATES, required=False)
    external_system = text(100)
    external_id = text(500)
    created_after = serializers.DateTimeField(required=False, help_text="Inclusive.")
    created_before = serializers.DateTimeField(required=False, help_text="Exclusive.")
    cursor = _id("next_cursor of the previous page.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50)


class TextParams(serializers.Serializer[Any]):
    first_page = serializers.IntegerField(required=False, min_value=1, default=1)
    last_page = serializers.IntegerField(
        required=False, min_value=1, help_text="Default: the last page."
    )


class AuditExportParams(serializers.Serializer[Any]):
    matter = _id("Only this matter's events.")
    document = _id("Only this document's events.")
    since = serializers.DateTimeField(required=False, help_text="Inclusive.")
    until = serializers.DateTimeField(required=False, help_text="Exclusive.")


class DeliveryListParams(serializers.Serializer[Any]):
    cursor = _id("next_cursor of the previous page.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50)


def read(params: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    """The validated query parameters (ValidationError -> 400 `invalid`, naming the field)."""
    found = params(data=request.query_params)
    found.is_valid(raise_exception=True)
    return dict(found.validated_data)
