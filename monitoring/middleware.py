"""A page whose write the database refused because the data are frozen or locked: a 423
page that says so and why, with the way back (issue 14 §4). Views that go through
``alter_s006.web.call_service`` show the same message by their form instead."""

from django.db import DatabaseError
from django.shortcuts import render

from monitoring.errors import held_from


class HeldDataMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DatabaseError):
            return None
        held = held_from(exception)
        if held is None:
            return None
        back = request.headers.get("referer") or request.path
        return render(
            request,
            "monitoring/held.html",
            {"held": held, "message": held.message(), "back": back},
            status=423,
        )
