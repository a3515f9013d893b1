"""What every app's pages share: the subject a user may open, the sites in view, and one way
to call a service from a page — its ``ValidationError`` shown beside the fields it names, its
``EditConflict`` answered with the 409 comparison page, its success flashed and redirected.

The API needs none of this: django-ninja maps the same exceptions in one place
(``alter_s006.api``), so an endpoint only fetches through ``subject_for`` and calls the service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.http import HttpResponse
from django.shortcuts import render

from accounts.access import get_scoped_or_404, visible_sites
from audit.versioning import EditConflict

SITE_SESSION_KEY = "edc_site"


def subject_for(user, pk):
    """The subject ``pk`` with its site, if ``user`` may see its site; else 404.

    The one fetch of a subject for pages (``request.user``) and the API (``request.auth``).
    """
    from subjects.models import Subject

    return get_scoped_or_404(Subject.objects.select_related("site"), user, pk=pk)


def current_sites(request):
    """The visible sites, narrowed to the one picked in the site switcher."""
    sites = visible_sites(request.user)
    picked = request.session.get(SITE_SESSION_KEY)
    if picked and sites.filter(pk=picked).exists():
        return sites.filter(pk=picked)
    return sites


def attach_errors(form, exc: ValidationError, aliases: dict[str, str] | None = None) -> None:
    """Show a service's ValidationError beside the fields it names (``aliases`` renames);
    a field the form does not have goes to the form's top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        name = (aliases or {}).get(field, field)
        form.add_error(name if name in form.fields else None, ValidationError(errors))


def conflict_response(request, exc: EditConflict, back_url: str) -> HttpResponse:
    """409: what the other user stored beside what this one submitted."""
    return render(
        request,
        "audit/conflict.html",
        {"conflict": exc, "rows": exc.differences(), "back_url": back_url},
        status=409,
    )


def call_service(
    request,
    form,
    call: Callable[[], Any],
    *,
    success: Callable[[Any], HttpResponse],
    message: str | None = None,
    back_url: str | None = None,
    aliases: dict[str, str] | None = None,
) -> HttpResponse | None:
    """Run ``call()``: its result goes to ``success`` (after flashing ``message``); a
    ``ValidationError`` is attached to ``form`` and None returned (render the form again,
    422); an ``EditConflict`` is the 409 page, back to ``back_url`` (the request's own page
    when not given)."""
    try:
        result = call()
    except ValidationError as exc:
        attach_errors(form, exc, aliases)
        return None
    except DatabaseError as exc:
        # frozen or locked data (issue 14): the database refused the write; say why by the form
        from monitoring.errors import held_from

        held = held_from(exc)
        if held is None:
            raise
        form.add_error(None, ValidationError(held.message(), code=held.code))
        return None
    except EditConflict as exc:
        return conflict_response(request, exc, back_url or request.get_full_path())
    if message:
        messages.success(request, message)
    return success(result)
