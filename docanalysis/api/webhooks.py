"""/api/v1/webhooks: a tenant's endpoints, their delivery log, and replays (docs/api_webhooks.md).
Only a tenant-wide key sees them: a key scoped to matters gets 404 on all of it, as does a key
of another tenant on this one's endpoints and deliveries."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from docanalysis.api import params
from docanalysis.api import serializers as s
from docanalysis.api.views import ERRORS, actor_of, principal_of
from docanalysis.db.tables import DELIVERY_STATES, WEBHOOK_EVENTS
from docanalysis.services import webhooks
from docanalysis.web.views.common import runtime


class EndpointRequest(serializers.Serializer[Any]):
    url = params.text(
        2000,
        required=True,
        help_text="Where to POST the events: http(s), a public address (checked now and at "
        "each delivery), no user:password@.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WEBHOOK_EVENTS), min_length=1, max_length=4
    )


# Events and states are plain strings in answers: the enums belong to the request (and one
# choice set under two component names would make the schema's names unstable).
class EndpointSerializer(serializers.Serializer[webhooks.EndpointView]):
    id = serializers.IntegerField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()


class NewEndpointSerializer(EndpointSerializer):
    secret = serializers.CharField(
        help_text="Signs every delivery (X-Docanalysis-Signature). Shown this once: keep it."
    )


class EndpointListSerializer(serializers.Serializer[Any]):
    results = EndpointSerializer(many=True)


class DeliverySerializer(serializers.Serializer[webhooks.DeliveryView]):
    id = serializers.IntegerField()
    endpoint_id = serializers.IntegerField()
    event = serializers.CharField(help_text=", ".join(WEBHOOK_EVENTS))
    event_id = serializers.CharField(help_text="The same for every attempt and replay.")
    state = serializers.CharField(help_text=", ".join(DELIVERY_STATES))
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)


class DeliveryPageSerializer(serializers.Serializer[Any]):
    results = DeliverySerializer(many=True)
    next_cursor = serializers.IntegerField(allow_null=True)


NOT_FOUND = OpenApiResponse(
    s.ErrorSerializer, description="No such object in the key's tenant, or a matter-scoped key."
)


class WebhooksView(APIView):
    @extend_schema(
        operation_id="webhooks_create",
        request=EndpointRequest,
        responses={201: NewEndpointSerializer, **ERRORS, 404: NOT_FOUND},
    )
    def post(self, request: Request) -> Response:
        """Register an endpoint for some events; the answer carries its signing secret, once.
        A URL the server may not reach is refused (400 url_refused)."""
        form = EndpointRequest(data=request.data)
        form.is_valid(raise_exception=True)
        fields = form.validated_data
        endpoint, secret = webhooks.register(
            runtime(), principal_of(request), actor_of(request), fields["url"], fields["events"]
        )
        body = {**EndpointSerializer(endpoint).data, "secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="webhooks_list",
        responses={200: EndpointListSerializer, **ERRORS, 404: NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        """The tenant's endpoints (never their secrets)."""
        found = webhooks.list_endpoints(runtime(), principal_of(request))
        return Response({"results": EndpointSerializer(found, many=True).data})


class WebhookView(APIView):
    @extend_schema(operation_id="webhooks_delete", responses={204: None, **ERRORS})
    def delete(self, request: Request, endpoint_id: int) -> Response:
        """Stop sending to the endpoint; its pending deliveries fail."""
        webhooks.delete_endpoint(runtime(), principal_of(request), actor_of(request), endpoint_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveriesView(APIView):
    @extend_schema(
        operation_id="webhooks_deliveries",
        parameters=[params.DeliveryListParams],
        responses={200: DeliveryPageSerializer, **ERRORS},
    )
    def get(self, request: Request, endpoint_id: int) -> Response:
        """The endpoint's deliveries, newest first: state, attempts, the last answer."""
        query = params.read(params.DeliveryListParams, request)
        page, following = webhooks.deliveries_of(
            runtime(), principal_of(request), endpoint_id, query["limit"], query.get("cursor")
        )
        return Response(
            {"results": DeliverySerializer(page, many=True).data, "next_cursor": following}
        )


class ReplayView(APIView):
    @extend_schema(
        operation_id="webhooks_replay", request=None, responses={202: DeliverySerializer, **ERRORS}
    )
    def post(self, request: Request, delivery_id: int) -> Response:
        """Send the delivery's event again (same event_id and payload), as a new delivery."""
        again = webhooks.replay(runtime(), principal_of(request), actor_of(request), delivery_id)
        location = reverse("api-webhook-deliveries", args=[again.endpoint_id])
        return Response(
            DeliverySerializer(again).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )
