"""GET /healthz for load balancers and docker-compose: the database answers, or 503."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from docanalysis.db.engine import reading
from docanalysis.web.views.common import runtime


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with reading(runtime().engine) as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})
