"""The REST API under /api/v1/: the same access rules and services as the pages.

Every error is JSON of one shape, ``{"errors": [{"field", "code", "message"}, ...]}``: ``field``
is the input at fault (``null`` for the request as a whole), ``code`` is stable and meant for
programs (the ``ValidationError`` code the service raised, or the HTTP-level code such as
``not_found``), ``message`` is for people. 409 adds ``current_version`` and ``differences``.
Each operation documents the HTTP statuses it can answer (``_ERRORS``).
"""

from __future__ import annotations

import functools
import json
import logging

from axes.helpers import get_cool_off
from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    ValidationError,
)
from django.core.signals import got_request_exception
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from django.urls import URLPattern, re_path
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.errors import ValidationError as RequestInvalid
from ninja.parser import Parser

from accounts.api import AccountLocked, BearerAuth
from accounts.api import router as sites_router
from assessments.api import router as assessments_router
from audit.versioning import EditConflict
from crfs.api import router as crfs_router
from dosing.api import router as dosing_router
from eligibility.api import router as eligibility_router
from exports.api import router as exports_router
from logs.api import router as logs_router
from monitoring.api import router as monitoring_router
from outcomes.api import router as outcomes_router
from queries.api import router as queries_router
from safety.api import router as safety_router
from subjects.api import router as subjects_router

log = logging.getLogger("django.request")

DATABASE_RETRY_SECONDS = 30
JSON_MEDIA_TYPE = "application/json"


class UnsupportedMediaType(Exception):
    """A request body that is not ``application/json``."""


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


class JsonParser(Parser):
    """Bodies are JSON only (else 415); ``NaN`` and ``Infinity`` are not JSON (400)."""

    def parse_body(self, request):
        if request.content_type != JSON_MEDIA_TYPE:
            raise UnsupportedMediaType(request.content_type)
        return json.loads(request.body, parse_constant=_refuse_constant)


class EdcApi(NinjaAPI):
    """NinjaAPI whose every answer under its prefix is JSON and whose document lists the
    error codes of each operation."""

    def _get_urls(self):
        urls = [
            URLPattern(u.pattern, self._json_errors(u.callback), u.default_args, u.name)
            if isinstance(u, URLPattern) and getattr(u.callback, "csrf_exempt", False)
            else u
            for u in super()._get_urls()
        ]
        not_found = csrf_exempt_view(self._not_found)
        return [*urls, re_path(r"^(?P<path>.+)$", not_found, name="api-not-found")]

    def _not_found(self, request, path):
        """Any other path under the prefix: 404 in JSON (not the site's HTML page)."""
        return _error(request, "Not Found", 404, "not_found")

    def _json_errors(self, view):
        """A method the path does not have (405) and a lockout, answered in JSON."""

        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            if getattr(request, "axes_locked_out", False):
                # django-axes locked the account during this request (a wrong signing
                # password); its middleware would answer with the HTML lockout page.
                request.axes_locked_out = False
                return locked_response(request)
            if response.status_code == 405:  # ninja's own answer is plain text
                answer = _error(request, "Method not allowed.", 405, "method_not_allowed")
                answer["Allow"] = response["Allow"]
                return answer
            return response

        return wrapper

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        _document_errors(schema)
        return schema


def csrf_exempt_view(view):
    """No CSRF check: the API authenticates by token, not by cookie."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return view(*args, **kwargs)

    wrapper.csrf_exempt = True
    return wrapper


api = EdcApi(
    title="ALTER-S006 EDC API",
    version="1",
    description=(
        "Electronic data capture for the ALTER-S006 trial. Authenticate with "
        "`Authorization: Bearer <token>` (`python manage.py issue_api_token USERNAME`). "
        "Request bodies are JSON (`Content-Type: application/json`). "
        "Updates require `version` (optimistic lock) and `reason` (audit trail). "
        'Every error is JSON: `{"errors": [{"field": "reason", "code": "required", '
        '"message": "..."}]}`; `field` is null for the request as a whole, `code` is stable.'
    ),
    auth=BearerAuth(),
    parser=JsonParser(),
    urls_namespace="api",
    docs_url="/docs",
)
api.add_router("", sites_router)
api.add_router("", subjects_router)
api.add_router("", eligibility_router)
api.add_router("", dosing_router)
api.add_router("", assessments_router)
api.add_router("", crfs_router)
api.add_router("", safety_router)
api.add_router("", logs_router)
api.add_router("", outcomes_router)
api.add_router("", monitoring_router)
api.add_router("", queries_router)
api.add_router("", exports_router)


# --- errors ----------------------------------------------------------------------------------


NON_FIELD = None  # "field" of an error about the request as a whole


def error_items(exc: ValidationError) -> list[dict]:
    """A service's ValidationError as ``[{"field", "code", "message"}]``, in raising order.

    ``code`` is the code the service gave the error (``"invalid"`` when it gave none);
    Django's ``__all__`` (the record as a whole) is ``field: null``.
    """
    pairs = exc.error_dict.items() if hasattr(exc, "error_dict") else [("__all__", exc)]
    items = []
    for field, errors in pairs:
        for error in ValidationError(errors).error_list:
            message = error.message % error.params if error.params else error.message
            items.append(
                {
                    "field": NON_FIELD if field == "__all__" else field,
                    "code": error.code or "invalid",
                    "message": str(message),
                }
            )
    return items


def _error(request, message: str, status: int, code: str, **headers):
    body = {"errors": [{"field": NON_FIELD, "code": code, "message": message}]}
    response = api.create_response(request, body, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def locked_response(request):
    """429 for an account django-axes locked; Retry-After when the lock lifts by itself."""
    response = _error(
        request,
        "This account is locked after too many failed sign-in attempts; "
        "ask your data manager, or try again later.",
        429,
        "account_locked",
    )
    cool_off = get_cool_off(request)
    if cool_off is not None:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


# A write refused because the data are frozen or locked (issue 14): 423 Locked, with the
# reason; placing a hold already in force: 409 Conflict.
# An export's file asked for before it is made (issue 15): 409 Conflict.
HELD_STATUS = {
    "frozen": 423,
    "locked": 423,
    "already_frozen": 409,
    "already_locked": 409,
    "not_ready": 409,
}


@api.exception_handler(ValidationError)
def validation_error(request, exc):
    items = error_items(exc)
    status = next((HELD_STATUS[i["code"]] for i in items if i["code"] in HELD_STATUS), 422)
    return api.create_response(request, {"errors": items}, status=status)


@api.exception_handler(DatabaseError)
def held_data(request, exc):
    """``monitoring_guard`` refused the write (frozen / locked data): 423 with the reason."""
    from monitoring.errors import held_from

    held = held_from(exc)
    if held is None:
        raise exc
    return _error(request, held.message(), 423, held.code)


def _field_name(loc: tuple) -> str | None:
    parts = [str(part) for part in loc]
    # ("body", "payload", "reason") -> "reason"; ("query", "status") -> "status"
    return ".".join(parts[2:] if parts[:1] == ["body"] else parts[1:]) or NON_FIELD


@api.exception_handler(RequestInvalid)
def request_invalid(request, exc):
    """Missing or malformed input, in the same shape; ``code`` is pydantic's error type
    (``missing``, ``int_parsing``, ``extra_forbidden`` …) or the one our types raise."""
    items = [
        {
            "field": _field_name(error.get("loc", ())),
            "code": error.get("type") or "invalid",
            "message": error.get("msg", "Invalid value."),
        }
        for error in exc.errors
    ]
    return api.create_response(request, {"errors": items}, status=422)


@api.exception_handler(HttpError)
def http_error(request, exc):
    """ninja's own refusals; a body it could not read says why (415 or 400)."""
    cause = exc.__cause__
    if isinstance(cause, UnsupportedMediaType):
        return _error(request, f"Send the body as {JSON_MEDIA_TYPE}.", 415, "unsupported_media")
    if exc.status_code == 400 and isinstance(cause, ValueError):
        return _error(request, f"The body is not valid JSON: {cause}", 400, "invalid_json")
    code = {401: "not_authenticated", 403: "forbidden", 404: "not_found"}
    return _error(request, str(exc), exc.status_code, code.get(exc.status_code, "http_error"))


@api.exception_handler(RequestDataTooBig)
def request_too_big(request, exc):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _error(request, f"The body is larger than the limit of {limit} bytes.", 413, "too_large")


@api.exception_handler(BadRequest)
@api.exception_handler(SuspiciousOperation)
def bad_request(request, exc):
    return _error(request, "Bad request.", 400, "bad_request")


@api.exception_handler(AccountLocked)
def account_locked(request, exc):
    return locked_response(request)


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def database_unavailable(request, exc):
    log.error("Database unavailable: %s", request.path, exc_info=exc)
    return _error(
        request,
        "The database is not available; nothing was saved. Try again shortly.",
        503,
        "database_unavailable",
        Retry_After=str(DATABASE_RETRY_SECONDS),
    )


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc):
    return _error(request, str(exc) or "Forbidden", 403, "forbidden")


@api.exception_handler(Http404)
def not_found(request, exc):
    return _error(request, "Not Found", 404, "not_found")


@api.exception_handler(EditConflict)
def edit_conflict(request, exc):
    rows = [
        {"field": f, "stored": str(theirs), "submitted": str(mine)}
        for f, _label, theirs, mine in exc.differences()
    ]
    message = "The record was changed by someone else since you read it."
    return api.create_response(
        request,
        {
            "errors": [{"field": "version", "code": "edit_conflict", "message": message}],
            "current_version": exc.current.version,
            "differences": rows,
        },
        status=409,
    )


@api.exception_handler(Exception)
def server_error(request, exc):
    """A bug: logged and signalled as Django does, answered in the API's shape."""
    log.error("Internal Server Error: %s", request.path, exc_info=exc)
    got_request_exception.send(sender=None, request=request)
    return _error(request, "Internal server error.", 500, "server_error")


# --- the error codes in the OpenAPI document ------------------------------------------------

_ERROR_ITEMS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "field": {
                "type": ["string", "null"],
                "description": "The input at fault; null for the request as a whole",
            },
            "code": {"type": "string", "description": "Stable, for programs"},
            "message": {"type": "string", "description": "For people"},
        },
        "required": ["field", "code", "message"],
    },
}
_MESSAGE = {
    "type": "object",
    "properties": {"errors": _ERROR_ITEMS},
    "required": ["errors"],
}
_CONFLICT = {
    "type": "object",
    "properties": {
        "errors": _ERROR_ITEMS,
        "current_version": {"type": "integer"},
        "differences": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "stored": {"type": "string"},
                    "submitted": {"type": "string"},
                },
                "required": ["field", "stored", "submitted"],
            },
        },
    },
    "required": ["errors", "current_version", "differences"],
}
_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}},
}
# status -> (description, schema component, headers)
_ERRORS = {
    400: ("The body is not valid JSON", "Error", None),
    401: ("No valid token (`Authorization: Bearer <token>`)", "Error", None),
    403: ("Your role may not do this at this site", "Error", None),
    404: ("No such record among the sites you may see", "Error", None),
    409: ("The record changed since you read `version`", "EditConflict", None),
    413: ("The body is larger than the upload limit", "Error", None),
    415: (f"The body is not {JSON_MEDIA_TYPE}", "Error", None),
    422: ("Refused input, by field; nothing was stored", "Error", None),
    423: ("The data are frozen or locked (`code` frozen / locked, with the reason)", "Error", None),
    429: ("The account is locked after failed sign-in attempts", "Error", _RETRY_AFTER),
    503: ("The database is not available; nothing was stored", "Error", _RETRY_AFTER),
}


def _operation_errors(operation: dict, components: dict) -> list[int]:
    """The error codes an operation can answer, from what it takes."""
    parameters = operation.get("parameters", [])
    body = operation.get("requestBody")
    codes = [503]
    if operation.get("security"):
        codes += [401, 403, 429]
    if any(p["in"] == "path" for p in parameters):
        codes.append(404)
    if parameters or body:
        codes.append(422)
    if body:
        codes += [400, 413, 415, 423]
        schema = body["content"][JSON_MEDIA_TYPE]["schema"]
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            schema = components.get(ref.rsplit("/", 1)[-1], {})
        if "version" in schema.get("properties", {}):
            codes.append(409)
    return sorted(codes)


def _document_errors(schema: dict) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(Error=_MESSAGE, EditConflict=_CONFLICT)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code in _operation_errors(operation, components):
                description, component, headers = _ERRORS[code]
                response = {
                    "description": description,
                    "content": {
                        JSON_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{component}"}}
                    },
                }
                if headers:
                    response["headers"] = headers
                responses.setdefault(code, response)
