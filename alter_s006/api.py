"""The REST API under /api/v1/: the same access rules and services as the pages."""

from django.core.exceptions import PermissionDenied, ValidationError
from ninja import NinjaAPI
from ninja.errors import ValidationError as RequestInvalid

from accounts.api import BearerAuth
from accounts.api import router as sites_router
from assessments.api import router as assessments_router
from audit.versioning import EditConflict
from dosing.api import router as dosing_router
from eligibility.api import router as eligibility_router
from safety.api import router as safety_router
from subjects.api import router as subjects_router

api = NinjaAPI(
    title="ALTER-S006 EDC API",
    version="1",
    description=(
        "Electronic data capture for the ALTER-S006 trial. Authenticate with "
        "`Authorization: Bearer <token>` (`python manage.py issue_api_token USERNAME`). "
        "Updates require `version` (optimistic lock) and `reason` (audit trail)."
    ),
    auth=BearerAuth(),
    urls_namespace="api",
    docs_url="/docs",
)
api.add_router("", sites_router)
api.add_router("", subjects_router)
api.add_router("", eligibility_router)
api.add_router("", dosing_router)
api.add_router("", assessments_router)
api.add_router("", safety_router)


@api.exception_handler(ValidationError)
def validation_error(request, exc):
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(RequestInvalid)
def request_invalid(request, exc):
    """Missing or malformed input, in the same ``{"detail": {field: [messages]}}`` shape."""
    detail: dict[str, list[str]] = {}
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ())]
        # ("body", "payload", "reason") -> "reason"; ("query", "status") -> "status"
        name = ".".join(loc[2:] if loc[:1] == ["body"] else loc[1:]) or "__all__"
        detail.setdefault(name, []).append(error.get("msg", "Invalid value."))
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc):
    return api.create_response(request, {"detail": str(exc) or "Forbidden"}, status=403)


@api.exception_handler(EditConflict)
def edit_conflict(request, exc):
    rows = [
        {"field": f, "stored": str(theirs), "submitted": str(mine)}
        for f, _label, theirs, mine in exc.differences()
    ]
    return api.create_response(
        request,
        {
            "detail": "The record was changed by someone else since you read it.",
            "current_version": exc.current.version,
            "differences": rows,
        },
        status=409,
    )
