"""Sign-in and sign-out, each audited by an explicit call (not Django's signals): a success, a
failure (with the name that was tried, never the password) and a sign-out."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse

from docanalysis.services.audit import record_access
from docanalysis.services.views import Actor
from docanalysis.web.views.common import actor_for, runtime

TRIED_NAME_CHARS = 150  # Django's username limit


class SignInView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        record_access(runtime(), actor_for(self.request), "user.signed_in", "ok")
        return response

    def form_invalid(self, form: Any) -> HttpResponse:
        tried = str(form.data.get("username", ""))[:TRIED_NAME_CHARS]
        anonymous = actor_for(self.request, AnonymousUser())
        actor = Actor(None, tried or "(no name)", anonymous.request_id, anonymous.client_address)
        record_access(runtime(), actor, "user.sign_in_failed", "refused", username=tried)
        return super().form_invalid(form)


class SignOutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            record_access(runtime(), actor_for(request), "user.signed_out", "ok")
        return super().post(request, *args, **kwargs)
