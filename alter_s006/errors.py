"""Error pages in the site's layout (403, 404, 405, 500), JSON under /api/.

The handlers are named in ``alter_s006.urls``; 405 has no handler in Django, so
``MethodNotAllowedMiddleware`` turns the bare 405 of ``require_POST`` and friends into a page.
A GET on an address that only takes a form (a bookmark, a reloaded tab, or the address the
sign-in page returns to after an idle timeout ended the session mid-post) goes to the page
that holds the form instead. The 500 page is rendered without the request: no context
processor, no database, since either may be what failed.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

# A POST-only address -> (the page holding its form, the URL arguments it keeps, anchor).
FORM_OF: dict[str, tuple[str, tuple[str, ...], str]] = {
    "switch-site": ("home", (), ""),
    "logout": ("home", (), ""),
    "subjects:transition": ("subjects:detail", ("pk",), "#change-status"),
    "eligibility:verdict": ("eligibility:screening", ("pk",), ""),
    "eligibility:screen-fail": ("eligibility:screening", ("pk",), ""),
    "assessments:preview": ("assessments:overview", ("pk",), ""),
    "safety:causality": ("safety:ae", ("pk", "ae_pk"), "#causality-card"),
    "safety:follow_up": ("safety:ae", ("pk", "ae_pk"), "#sae-card"),
    "safety:sae_submit": ("safety:sae_list", (), ""),
    "safety:sae_draft": ("safety:sae_list", (), ""),
    "crfs:preview": ("crfs:form", ("pk", "visit_pk", "form_key"), ""),
    "logs:deviation_decide": ("logs:deviation", ("pk", "item_pk"), ""),
    "queries:act": ("queries:detail", ("pk",), ""),
    "monitoring:sdv_action": ("monitoring:record", ("pk", "label", "rid"), ""),
    "monitoring:hold": ("monitoring:subject", ("pk",), ""),
    "monitoring:sign_record": ("monitoring:record", ("pk", "label", "rid"), ""),
    "monitoring:study_hold": ("monitoring:study", (), ""),
    "admin:logout": ("admin:index", (), ""),
}


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def form_page_for(path: str) -> str | None:
    """The page holding the form that posts to ``path``, or None if there is none."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    target = FORM_OF.get(match.view_name)
    if target is None:
        return None
    name, keep, anchor = target
    try:
        return reverse(name, kwargs={k: match.kwargs[k] for k in keep}) + anchor
    except (KeyError, NoReverseMatch):
        logger.exception("FORM_OF[%r] does not reverse", match.view_name)
        return None


class MethodNotAllowedMiddleware:
    """A 405 page, or for a GET on a form's address a redirect to the form (not under /api/)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or is_api(request):
            return response
        if request.method in ("GET", "HEAD"):
            target = form_page_for(request.path_info)
            if target is not None:
                messages.info(
                    request,
                    _(
                        "That address only takes a submitted form, so nothing was saved: "
                        "here is the page with the form."
                    ),
                )
                return redirect(target)
        page = render(
            request,
            "405.html",
            {"method": request.method, "allowed": response.get("Allow", "")},
            status=405,
        )
        if response.has_header("Allow"):
            page["Allow"] = response["Allow"]
        return page


def error_body(message: str, code: str, field: str | None = None) -> dict:
    """The API's one error shape (``alter_s006.api``), for answers made outside django-ninja."""
    return {"errors": [{"field": field, "code": code, "message": str(message)}]}


def permission_denied(request, exception=None):
    if is_api(request):
        return JsonResponse(
            error_body(_("Your role does not allow this."), "forbidden"), status=403
        )
    return defaults.permission_denied(request, exception, template_name="403.html")


def page_not_found(request, exception=None):
    if is_api(request):
        return JsonResponse(error_body("Not Found", "not_found"), status=404)
    return defaults.page_not_found(request, exception, template_name="404.html")


def server_error(request):
    """The 500 page from the template alone: no request context, no database."""
    if is_api(request):
        return JsonResponse(error_body("Internal server error", "server_error"), status=500)
    try:
        body = loader.get_template("500.html").render({"static_nav": True})
    except Exception:  # the last resort must not fail in its turn
        logger.exception("the 500 page could not be rendered")
        body = "<!doctype html><title>Server error</title><h1>Server error (500)</h1>"
    return HttpResponseServerError(body)
