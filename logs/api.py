"""The log forms over the API: concomitant medications (flagged against the protocol's
prohibited medications), medical history, protocol deviations (confirm / dismiss).

The same access helper and services as the pages: reads need a site the user may see
(another site's record is 404), writes a coordinator or investigator of the subject's site
(403 otherwise, a monitor or data manager included). Refusals are 422
``{"errors": [{"field", "code", "message"}]}`` with the services' field names
(``stop_date``, ``dose``...), 409 on a stale ``version``; updates need ``version`` and
``reason``. Lists are paginated (``alter_s006.pagination``) and answer in the same number of
queries whatever their length. Every operation documents its error statuses
(``alter_s006.api._ERRORS``: 401, 403, 404, 409, 422, 503 as they apply).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from ninja import Field, Router, Schema, Status

from accounts.access import Action, get_scoped_or_404, require
from alter_s006.api_types import Bool, Date, Id, In, Int, Number, PathId, Text
from alter_s006.pagination import (
    API_PAGE_DESCRIPTION,
    PAGE_SIZE,
    PageQuery,
    PageSizeQuery,
    api_page,
)
from alter_s006.web import subject_for
from logs import prohibited, selectors, services
from logs.models import ConMed, Deviation, DoseUnit, Frequency, MedicalHistory, Route
from safety.models import AdverseEvent, CtcaeTerm

router = Router(tags=["logs"])


# --- schemas ---------------------------------------------------------------------------------


class ConMedIn(In):
    name: Text
    indication: Text = ""
    indication_ae_id: Id | None = Field(None, description="An adverse event of the subject")
    indication_history_id: Id | None = Field(
        None, description="A medical-history item of the subject"
    )
    dose: Number
    unit: Text = Field(..., json_schema_extra={"enum": list(DoseUnit.values)})
    route: Text = Field(..., json_schema_extra={"enum": list(Route.values)})
    frequency: Text = Field(..., json_schema_extra={"enum": list(Frequency.values)})
    start_date: Date
    stop_date: Date | None = Field(None, description="Null while ongoing")
    ongoing: Bool = False


class ConMedPatch(In):
    version: Int = Field(..., description="The version you read")
    reason: Text = Field(..., description="Reason for change (audit trail)")
    name: Text | None = None
    indication: Text | None = None
    indication_ae_id: Id | None = None
    indication_history_id: Id | None = None
    dose: Number | None = None
    unit: Text | None = None
    route: Text | None = None
    frequency: Text | None = None
    start_date: Date | None = None
    stop_date: Date | None = None
    ongoing: Bool | None = None


class FlagOut(Schema):
    code: str
    level: str = Field(..., description="prohibited or cautionary")
    label: str
    matched: str = Field(..., description="The name of the protocol's table that matched")


class ConMedOut(Schema):
    id: int
    subject_id: int
    name: str
    indication: str
    indication_ae_id: int | None
    indication_history_id: int | None
    dose: Decimal
    unit: str
    route: str
    frequency: str
    start_date: dt.date
    stop_date: dt.date | None
    ongoing: bool
    flag: FlagOut | None = Field(..., description="Null: not a prohibited/cautionary medication")
    version: int


class HistoryIn(In):
    term_id: Id | None = Field(None, description="A CTCAE term (GET /ctcae/terms)")
    condition: Text = Field("", description="Free text; required without a term")
    start_date: Date
    end_date: Date | None = Field(None, description="Null while ongoing")
    ongoing: Bool = False
    baseline_grade: Int | None = Field(None, description="CTCAE grade at baseline, 1-4")


class HistoryPatch(In):
    version: Int
    reason: Text
    term_id: Id | None = None
    condition: Text | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    ongoing: Bool | None = None
    baseline_grade: Int | None = None


class HistoryOut(Schema):
    id: int
    subject_id: int
    term: str | None
    term_id: int | None
    condition: str
    start_date: dt.date
    end_date: dt.date | None
    ongoing: bool
    baseline_grade: int | None
    version: int


class DeviationIn(In):
    category: Text = Field(..., json_schema_extra={"enum": list(Deviation.Category.values)})
    description: Text
    occurred_on: Date


class DeviationPatch(In):
    version: Int
    reason: Text
    category: Text | None = None
    description: Text | None = None
    occurred_on: Date | None = None


class DecisionIn(In):
    version: Int
    decision: Text = Field(..., json_schema_extra={"enum": ["confirm", "dismiss"]})
    reason: Text = Field("", description="Required to dismiss")


class DeviationOut(Schema):
    id: int
    subject_id: int
    site: str
    category: str
    description: str
    occurred_on: dt.date
    status: str = Field(..., description="raised (by the system), confirmed or dismissed")
    dismissal_reason: str
    raised_by_system: bool
    version: int


# --- helpers ---------------------------------------------------------------------------------


def _get(request, model, pk: int):
    return get_scoped_or_404(
        model.objects.select_related("subject__site"), request.auth, "subject__site", pk=pk
    )


def _not_found(field: str, message: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code="not_found")})


def _link(model, subject, pk, field):
    if pk is None:
        return None
    found = model.objects.filter(pk=pk, subject=subject).first()
    if found is None:
        raise _not_found(field, "No such record for this subject.")
    return found


def _term(term_id):
    if term_id is None:
        return None
    found = CtcaeTerm.objects.filter(pk=term_id).first()
    if found is None:
        raise _not_found("term", "Choose a CTCAE v4.03 term.")
    return found


def _no_nulls(changes: dict, nullable) -> None:
    nulls = [k for k, v in changes.items() if v is None and k not in nullable]
    if nulls:
        raise ValidationError(
            {k: ValidationError("This field cannot be empty.", code="null") for k in nulls}
        )


def _con_med_out(cm: ConMed) -> dict:
    drug_class = prohibited.by_code(cm.flag_class)
    flag = None
    if drug_class is not None:
        flag = {
            "code": drug_class.code,
            "level": str(drug_class.level),
            "label": drug_class.label,
            "matched": cm.flag_name,
        }
    return {
        **{f: getattr(cm, f) for f in ("id", "subject_id", "name", "indication", "dose", "unit")},
        **{f: getattr(cm, f) for f in ("route", "frequency", "start_date", "stop_date")},
        "indication_ae_id": cm.indication_ae_id,
        "indication_history_id": cm.indication_history_id,
        "ongoing": cm.ongoing,
        "flag": flag,
        "version": cm.version,
    }


def _history_out(mh: MedicalHistory) -> dict:
    return {
        **{f: getattr(mh, f) for f in ("id", "subject_id", "condition", "start_date", "end_date")},
        "term": mh.term.term if mh.term_id else None,
        "term_id": mh.term_id,
        "ongoing": mh.ongoing,
        "baseline_grade": mh.baseline_grade,
        "version": mh.version,
    }


def _deviation_out(d: Deviation, site_code: str) -> dict:
    return {
        **{f: getattr(d, f) for f in ("id", "subject_id", "category", "description")},
        **{f: getattr(d, f) for f in ("occurred_on", "status", "dismissal_reason", "version")},
        "site": site_code,
        "raised_by_system": d.raised_by_system,
    }


# --- concomitant medications -----------------------------------------------------------------


@router.get(
    "/subjects/{subject_id}/con-meds",
    response=list[ConMedOut],
    summary="The subject's concomitant medications, with the protocol flag",
    description=f"Latest start first. {API_PAGE_DESCRIPTION}",
)
def list_con_meds(
    request,
    subject_id: PathId,
    response: HttpResponse,
    page: PageQuery = 1,
    page_size: PageSizeQuery = PAGE_SIZE,
):
    subject = subject_for(request.auth, subject_id)
    rows = selectors.con_meds(subject).order_by("-start_date", "-id")
    return [_con_med_out(cm) for cm in api_page(request, response, rows, page, page_size)]


@router.post(
    "/subjects/{subject_id}/con-meds",
    response={201: ConMedOut},
    summary="Record a concomitant medication",
    description=(
        "Refused (422, nothing stored): a stop date and ongoing both (or neither), a stop "
        "before the start, a date before 1900 or after the site's today, a dose not above 0 or "
        "above the plausible maximum, a unit/route/frequency outside its code list, an "
        "indication linked to another subject's record. A prohibited or cautionary medication "
        "is stored with `flag` set and a query for the investigator."
    ),
)
def record_con_med(request, subject_id: PathId, payload: ConMedIn):
    subject = subject_for(request.auth, subject_id)
    require(request.auth, Action.ENTER_DATA, subject.site_id)
    data = payload.dict()
    data["indication_ae"] = _link(
        AdverseEvent, subject, data.pop("indication_ae_id"), "indication_ae"
    )
    data["indication_history"] = _link(
        MedicalHistory, subject, data.pop("indication_history_id"), "indication_history"
    )
    cm = services.record_con_med(subject=subject, by=request.auth, **data)
    return Status(201, _con_med_out(cm))


@router.patch(
    "/con-meds/{con_med_id}",
    response=ConMedOut,
    summary="Correct a concomitant medication (version and reason required)",
    description="Send only the fields that change. 409 if it changed since `version`.",
)
def correct_con_med(request, con_med_id: PathId, payload: ConMedPatch):
    cm = _get(request, ConMed, con_med_id)
    require(request.auth, Action.ENTER_DATA, cm.subject.site_id)
    changes = payload.dict(exclude_unset=True)
    version, reason = changes.pop("version"), changes.pop("reason")
    if "indication_ae_id" in changes:
        changes["indication_ae"] = _link(
            AdverseEvent, cm.subject, changes.pop("indication_ae_id"), "indication_ae"
        )
    if "indication_history_id" in changes:
        changes["indication_history"] = _link(
            MedicalHistory, cm.subject, changes.pop("indication_history_id"), "indication_history"
        )
    _no_nulls(changes, ("stop_date", "indication_ae", "indication_history"))
    updated = services.correct_con_med(
        con_med=cm, by=request.auth, expected_version=version, reason=reason, changes=changes
    )
    return _con_med_out(updated)


# --- medical history -------------------------------------------------------------------------


@router.get(
    "/subjects/{subject_id}/medical-history",
    response=list[HistoryOut],
    summary="The subject's medical history (baseline conditions)",
    description=f"Latest start first. {API_PAGE_DESCRIPTION}",
)
def list_medical_history(
    request,
    subject_id: PathId,
    response: HttpResponse,
    page: PageQuery = 1,
    page_size: PageSizeQuery = PAGE_SIZE,
):
    subject = subject_for(request.auth, subject_id)
    rows = selectors.history(subject).order_by("-start_date", "-id")
    return [_history_out(mh) for mh in api_page(request, response, rows, page, page_size)]


@router.post(
    "/subjects/{subject_id}/medical-history",
    response={201: HistoryOut},
    summary="Record a baseline condition",
    description=(
        "Refused (422): neither a term nor a condition, an end date and ongoing both (or "
        "neither), an end before the start, a date before 1900 or after the site's today, a "
        "grade at baseline outside 1-4."
    ),
)
def record_medical_history(request, subject_id: PathId, payload: HistoryIn):
    subject = subject_for(request.auth, subject_id)
    require(request.auth, Action.ENTER_DATA, subject.site_id)
    data = payload.dict()
    data["term"] = _term(data.pop("term_id"))
    mh = services.record_history(subject=subject, by=request.auth, **data)
    return Status(201, _history_out(mh))


@router.patch(
    "/medical-history/{history_id}",
    response=HistoryOut,
    summary="Correct a baseline condition (version and reason required)",
    description="Send only the fields that change. 409 if it changed since `version`.",
)
def correct_medical_history(request, history_id: PathId, payload: HistoryPatch):
    mh = _get(request, MedicalHistory, history_id)
    require(request.auth, Action.ENTER_DATA, mh.subject.site_id)
    changes = payload.dict(exclude_unset=True)
    version, reason = changes.pop("version"), changes.pop("reason")
    if "term_id" in changes:
        changes["term"] = _term(changes.pop("term_id"))
    _no_nulls(changes, ("term", "end_date", "baseline_grade"))
    updated = services.correct_history(
        history=mh, by=request.auth, expected_version=version, reason=reason, changes=changes
    )
    return _history_out(updated)


# --- protocol deviations ---------------------------------------------------------------------


@router.get(
    "/subjects/{subject_id}/deviations",
    response=list[DeviationOut],
    summary="The subject's protocol deviations (reported by the site or raised by the system)",
    description=f"Latest first. {API_PAGE_DESCRIPTION}",
)
def list_deviations(
    request,
    subject_id: PathId,
    response: HttpResponse,
    page: PageQuery = 1,
    page_size: PageSizeQuery = PAGE_SIZE,
):
    subject = subject_for(request.auth, subject_id)
    rows = selectors.deviations(subject).order_by("-occurred_on", "-id")
    code = subject.site.code
    return [_deviation_out(d, code) for d in api_page(request, response, rows, page, page_size)]


@router.post(
    "/subjects/{subject_id}/deviations",
    response={201: DeviationOut},
    summary="Report a protocol deviation (stored confirmed by the site)",
    description="Refused (422): an unknown category, no description, a date before 1900 or "
    "after the site's today.",
)
def record_deviation(request, subject_id: PathId, payload: DeviationIn):
    subject = subject_for(request.auth, subject_id)
    require(request.auth, Action.ENTER_DATA, subject.site_id)
    dev = services.record_deviation(subject=subject, by=request.auth, **payload.dict())
    return Status(201, _deviation_out(dev, subject.site.code))


@router.patch(
    "/deviations/{deviation_id}",
    response=DeviationOut,
    summary="Correct a protocol deviation (version and reason required)",
    description="Send only the fields that change. 409 if it changed since `version`.",
)
def correct_deviation(request, deviation_id: PathId, payload: DeviationPatch):
    dev = _get(request, Deviation, deviation_id)
    require(request.auth, Action.ENTER_DATA, dev.subject.site_id)
    changes = payload.dict(exclude_unset=True)
    version, reason = changes.pop("version"), changes.pop("reason")
    _no_nulls(changes, ())
    updated = services.correct_deviation(
        deviation=dev, by=request.auth, expected_version=version, reason=reason, changes=changes
    )
    return _deviation_out(updated, dev.subject.site.code)


@router.post(
    "/deviations/{deviation_id}/decision",
    response=DeviationOut,
    summary="Confirm, or dismiss with a reason, a protocol deviation",
    description="422 when dismissed without a reason or already in that status; 409 if it "
    "changed since `version`.",
)
def decide_deviation(request, deviation_id: PathId, payload: DecisionIn):
    dev = _get(request, Deviation, deviation_id)
    require(request.auth, Action.ENTER_DATA, dev.subject.site_id)
    if payload.decision == "confirm":
        updated = services.confirm_deviation(
            deviation=dev, by=request.auth, expected_version=payload.version
        )
    elif payload.decision == "dismiss":
        updated = services.dismiss_deviation(
            deviation=dev, by=request.auth, expected_version=payload.version, reason=payload.reason
        )
    else:
        raise ValidationError(
            {"decision": ValidationError("Either confirm or dismiss.", code="invalid_choice")}
        )
    return _deviation_out(updated, dev.subject.site.code)
