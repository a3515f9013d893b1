"""Outcome forms over the API: end of treatment, death, survival follow-up, withdrawals of
consent, and a subject's survival data (OS).

The same access helper and services as the pages. Reads need a site the user may see (another
site's subject is 404); writes need a coordinator or investigator of the subject's site (403
otherwise). Status codes: 200 read or corrected, 201 created, 401 without a token, 403 a role
that may not write, 404 unknown or another site's (and a form not recorded yet), 409 a
``version`` that is not the stored one, 422 refused
``{"errors": [{"field", "code", "message"}]}`` with the services' field names and codes
(``outcomes.services.MESSAGES``; a therapy row's ``therapies-<i>-<field>``).
A correction (PATCH) sends ``version`` and ``reason`` and the fields that change.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from ninja import Field, Router, Schema, Status

from accounts.access import Action, get_scoped_or_404, require
from alter_s006.api_types import Date, Id, In, Int, PathId, Text
from alter_s006.pagination import (
    API_PAGE_DESCRIPTION,
    PAGE_SIZE,
    PageQuery,
    PageSizeQuery,
    api_page,
)
from alter_s006.web import subject_for
from outcomes import selectors, services
from outcomes.models import (
    Autopsy,
    ContactMode,
    Death,
    DeathCause,
    EndOfTreatment,
    StopReason,
    SurvivalFollowUp,
    VitalStatus,
    Withdrawal,
    WithdrawalScope,
)
from safety.models import AdverseEvent
from subjects.models import Subject, Visit
from subjects.schedule import VisitKind

router = Router(tags=["outcomes"])

_CORRECTION = "A correction: send `version` (the one read), `reason` and the fields that change."


def _enum(choices) -> dict:
    return {"enum": list(choices.values)}


# --- schemas --------------------------------------------------------------------------------


class EotIn(In):
    decision_date: Date
    stop_reason: Text = Field(..., json_schema_extra=_enum(StopReason))
    toxicity_ae_id: Id | None = Field(None, description="Required when stop_reason is toxicity")
    reason_other: Text = Field("", description="Required when stop_reason is other")


class EotPatch(In):
    version: Int
    reason: Text = Field(..., description="Reason for change (audit trail)")
    stop_reason: Text | None = Field(None, json_schema_extra=_enum(StopReason))
    toxicity_ae_id: Id | None = None
    reason_other: Text | None = None
    decision_date: Date | None = Field(None, description="Fixed once recorded (date_fixed)")


class EotOut(Schema):
    id: int
    subject_id: int
    visit_id: int | None
    decision_date: dt.date
    stop_reason: str
    toxicity_ae_id: int | None
    reason_other: str
    last_dose_date: dt.date = Field(..., description="From the dosing calendar, never typed")
    version: int


class DeathIn(In):
    death_date: Date
    cause: Text = Field(..., json_schema_extra=_enum(DeathCause))
    cause_ae_id: Id | None = Field(None, description="Required when cause is adverse_event")
    cause_other: Text = Field("", description="Required when cause is other")
    autopsy: Text = Field(..., json_schema_extra=_enum(Autopsy))


class DeathPatch(In):
    version: Int
    reason: Text
    death_date: Date | None = Field(None, description="Fixed once recorded (date_fixed)")
    cause: Text | None = Field(None, json_schema_extra=_enum(DeathCause))
    cause_ae_id: Id | None = None
    cause_other: Text | None = None
    autopsy: Text | None = Field(None, json_schema_extra=_enum(Autopsy))


class WarningOut(Schema):
    field: str
    code: str
    message: str


class DeathOut(Schema):
    id: int
    subject_id: int
    death_date: dt.date
    cause: str
    cause_ae_id: int | None
    cause_other: str
    autopsy: str
    version: int
    warnings: list[WarningOut] = Field(..., description="Shown, not refused (ae_not_grade_5)")


class TherapyIn(In):
    regimen: Text
    start_date: Date
    line: Int


class TherapyOut(Schema):
    regimen: str
    start_date: dt.date
    line: int


class FollowUpIn(In):
    contact_date: Date
    mode: Text = Field(..., json_schema_extra=_enum(ContactMode))
    status: Text = Field(..., json_schema_extra=_enum(VitalStatus))
    last_known_alive: Date | None = Field(None, description="Required unless status is dead")
    new_progression_date: Date | None = Field(None, description="Only if none is recorded")
    therapies: list[TherapyIn] = Field([], description="Subsequent anticancer therapies")


class FollowUpPatch(In):
    version: Int
    reason: Text
    contact_date: Date | None = None
    mode: Text | None = Field(None, json_schema_extra=_enum(ContactMode))
    status: Text | None = Field(None, json_schema_extra=_enum(VitalStatus))
    last_known_alive: Date | None = None
    new_progression_date: Date | None = None
    therapies: list[TherapyIn] | None = Field(None, description="Replace the rows stored")


class FollowUpOut(Schema):
    id: int
    subject_id: int
    visit_id: int
    contact_date: dt.date
    mode: str
    status: str
    last_known_alive: dt.date | None
    new_progression_date: dt.date | None
    therapies: list[TherapyOut]
    version: int
    warnings: list[WarningOut] = Field(..., description="Shown, not refused (death_not_recorded)")


class WithdrawalIn(In):
    withdrawal_date: Date
    scope: Text = Field(..., json_schema_extra=_enum(WithdrawalScope))


class WithdrawalPatch(In):
    version: Int
    reason: Text
    withdrawal_date: Date | None = None
    scope: Text | None = Field(None, json_schema_extra=_enum(WithdrawalScope))


class WithdrawalOut(Schema):
    id: int
    subject_id: int
    withdrawal_date: dt.date
    scope: str
    version: int


class SurvivalOut(Schema):
    subject_id: int
    death_date: dt.date | None
    last_known_alive: dt.date | None
    last_known_alive_source: str | None
    os_start: dt.date | None = Field(..., description="First dose (C1D1)")
    os_end: dt.date | None = Field(..., description="Death, or the last date known alive")
    os_event: bool = Field(..., description="True: death; false: censored")


# --- helpers --------------------------------------------------------------------------------


def _ae(subject: Subject, ae_id: int | None, field: str) -> AdverseEvent | None:
    if ae_id is None:
        return None
    ae = AdverseEvent.objects.select_related("term").filter(pk=ae_id, subject=subject).first()
    if ae is None:
        raise ValidationError(
            {field: ValidationError("No such adverse event for this subject.", code="not_found")}
        )
    return ae


def _no_nulls(changes: dict, nullable: tuple[str, ...] = ()) -> None:
    nulls = [k for k, v in changes.items() if v is None and k not in nullable]
    if nulls:
        raise ValidationError(
            {k: ValidationError("This field cannot be empty.", code="null") for k in nulls}
        )


def _warnings(refusals) -> list[dict]:
    return [
        {"field": r.field, "code": r.code, "message": text}
        for r, text in zip(refusals, services.warning_texts(refusals), strict=True)
    ]


def _writer(request, subject: Subject) -> None:
    require(request.auth, Action.ENTER_DATA, subject.site_id)


def _death_out(death: Death) -> dict:
    return {
        **{f: getattr(death, f) for f in DeathOut.model_fields if f != "warnings"},
        "warnings": _warnings(services.death_warnings(death)),
    }


def _follow_up_out(row: SurvivalFollowUp) -> dict:
    fields = [f for f in FollowUpOut.model_fields if f not in ("therapies", "warnings")]
    return {
        **{f: getattr(row, f) for f in fields},
        "therapies": list(row.therapies.all()),
        "warnings": _warnings(services.survival_follow_up_warnings(row)),
    }


# --- end of treatment -----------------------------------------------------------------------


def _eot(subject: Subject) -> EndOfTreatment:
    record = EndOfTreatment.objects.filter(subject=subject).first()
    if record is None:
        raise Http404("No end of treatment recorded.")
    return record


@router.get("/subjects/{subject_id}/end-of-treatment", response=EotOut, summary="End of treatment")
def get_end_of_treatment(request, subject_id: PathId):
    return _eot(subject_for(request.auth, subject_id))


@router.post(
    "/subjects/{subject_id}/end-of-treatment",
    response={201: EotOut},
    summary="Record the end of treatment (the subject goes off treatment)",
    description=(
        "The last dose is the dosing calendar's; the decision cannot precede it nor be in the "
        "future. A subject on treatment becomes off treatment on the decision date and the "
        "dosing calendar stops after the last dose. 422 `already_recorded` if it exists."
    ),
)
def record_end_of_treatment(request, subject_id: PathId, payload: EotIn):
    subject = subject_for(request.auth, subject_id)
    _writer(request, subject)
    data = payload.dict()
    data["toxicity_ae"] = _ae(subject, data.pop("toxicity_ae_id"), "toxicity_ae_id")
    record = services.save_end_of_treatment(subject=subject, by=request.auth, **data)
    return Status(201, record)


@router.patch(
    "/subjects/{subject_id}/end-of-treatment",
    response=EotOut,
    summary="Correct the end of treatment",
    description=_CORRECTION,
)
def correct_end_of_treatment(request, subject_id: PathId, payload: EotPatch):
    subject = subject_for(request.auth, subject_id)
    _writer(request, subject)
    record = _eot(subject)
    changes = payload.dict(exclude_unset=True)
    _no_nulls(changes, ("toxicity_ae_id",))
    values = {
        "decision_date": record.decision_date,
        "stop_reason": record.stop_reason,
        "toxicity_ae": record.toxicity_ae,
        "reason_other": record.reason_other,
    }
    if "toxicity_ae_id" in changes:
        changes["toxicity_ae"] = _ae(subject, changes.pop("toxicity_ae_id"), "toxicity_ae_id")
    version, reason = changes.pop("version"), changes.pop("reason")
    return services.save_end_of_treatment(
        subject=subject,
        by=request.auth,
        expected_version=version,
        reason=reason,
        **(values | changes),
    )


# --- death ----------------------------------------------------------------------------------


def _death(subject: Subject) -> Death:
    record = Death.objects.filter(subject=subject).select_related("cause_ae__term").first()
    if record is None:
        raise Http404("No death recorded.")
    return record


@router.get("/subjects/{subject_id}/death", response=DeathOut, summary="The subject's death")
def get_death(request, subject_id: PathId):
    return _death_out(_death(subject_for(request.auth, subject_id)))


@router.post(
    "/subjects/{subject_id}/death",
    response={201: DeathOut},
    summary="Record the subject's death (the subject becomes deceased)",
    description=(
        "Not before consent nor after the site's today; the date already recorded if a fatal "
        "adverse event recorded the death. A cause `adverse_event` names an event of this "
        "subject whose term has a grade 5; below grade 5 it is stored with a warning."
    ),
)
def record_death(request, subject_id: PathId, payload: DeathIn):
    subject = subject_for(request.auth, subject_id)
    _writer(request, subject)
    data = payload.dict()
    data["cause_ae"] = _ae(subject, data.pop("cause_ae_id"), "cause_ae_id")
    services.save_death(subject=subject, by=request.auth, **data)
    return Status(201, _death_out(_death(subject)))


@router.patch(
    "/subjects/{subject_id}/death",
    response=DeathOut,
    summary="Correct the subject's death",
    description=_CORRECTION,
)
def correct_death(request, subject_id: PathId, payload: DeathPatch):
    subject = subject_for(request.auth, subject_id)
    _writer(request, subject)
    record = _death(subject)
    changes = payload.dict(exclude_unset=True)
    _no_nulls(changes, ("cause_ae_id",))
    values = {f: getattr(record, f) for f in ("death_date", "cause", "cause_other", "autopsy")}
    values["cause_ae"] = record.cause_ae
    if "cause_ae_id" in changes:
        changes["cause_ae"] = _ae(subject, changes.pop("cause_ae_id"), "cause_ae_id")
    version, reason = changes.pop("version"), changes.pop("reason")
    services.save_death(
        subject=subject,
        by=request.auth,
        expected_version=version,
        reason=reason,
        **(values | changes),
    )
    return _death_out(_death(subject))


# --- survival follow-up ---------------------------------------------------------------------


def _visit(request, visit_id: int) -> Visit:
    visit = get_scoped_or_404(
        Visit.objects.select_related("subject__site"),
        request.auth,
        site_path="subject__site",
        pk=visit_id,
    )
    if visit.kind != VisitKind.SURVIVAL_FOLLOW_UP:
        raise Http404("Not a survival follow-up visit.")
    return visit


def _follow_up(visit: Visit) -> SurvivalFollowUp:
    row = SurvivalFollowUp.objects.filter(visit=visit).prefetch_related("therapies").first()
    if row is None:
        raise Http404("No survival follow-up recorded at this visit.")
    row.subject = visit.subject
    return row


@router.get(
    "/visits/{visit_id}/survival-follow-up",
    response=FollowUpOut,
    summary="The survival follow-up of a survival follow-up visit",
)
def get_survival_follow_up(request, visit_id: PathId):
    return _follow_up_out(_follow_up(_visit(request, visit_id)))


@router.post(
    "/visits/{visit_id}/survival-follow-up",
    response={201: FollowUpOut},
    summary="Record the survival follow-up of a survival follow-up visit",
    description=(
        "The visit is recorded done on the contact date (if not yet). The last date known "
        "alive is required unless dead, not after the contact. Status dead without a death "
        "recorded is stored with the warning `death_not_recorded` (record the death)."
    ),
)
def record_survival_follow_up(request, visit_id: PathId, payload: FollowUpIn):
    visit = _visit(request, visit_id)
    _writer(request, visit.subject)
    services.save_survival_follow_up(visit=visit, by=request.auth, **payload.dict())
    return Status(201, _follow_up_out(_follow_up(visit)))


@router.patch(
    "/visits/{visit_id}/survival-follow-up",
    response=FollowUpOut,
    summary="Correct a survival follow-up",
    description=_CORRECTION + " `therapies`, when sent, replaces the rows stored.",
)
def correct_survival_follow_up(request, visit_id: PathId, payload: FollowUpPatch):
    visit = _visit(request, visit_id)
    _writer(request, visit.subject)
    record = _follow_up(visit)
    changes = payload.dict(exclude_unset=True)
    _no_nulls(changes, ("last_known_alive", "new_progression_date"))
    fields = ("contact_date", "mode", "status", "last_known_alive", "new_progression_date")
    values = {f: getattr(record, f) for f in fields}
    values["therapies"] = [
        {"regimen": t.regimen, "start_date": t.start_date, "line": t.line}
        for t in record.therapies.all()
    ]
    version, reason = changes.pop("version"), changes.pop("reason")
    services.save_survival_follow_up(
        visit=visit,
        by=request.auth,
        expected_version=version,
        reason=reason,
        **(values | changes),
    )
    return _follow_up_out(_follow_up(visit))


@router.get(
    "/subjects/{subject_id}/survival",
    response=SurvivalOut,
    summary="Overall survival data: death, or the last date known alive",
)
def get_survival(request, subject_id: PathId):
    subject = subject_for(request.auth, subject_id)
    os = selectors.overall_survival(subject)
    known = selectors.last_known_alive(subject)
    return {
        "subject_id": subject.pk,
        "death_date": selectors.death_date(subject),
        "last_known_alive": known.on if known else None,
        "last_known_alive_source": known.source.value if known else None,
        "os_start": os.start,
        "os_end": os.end,
        "os_event": os.event,
    }


# --- withdrawals ----------------------------------------------------------------------------


def _withdrawal(request, withdrawal_id: int) -> Withdrawal:
    return get_scoped_or_404(
        Withdrawal.objects.select_related("subject__site"),
        request.auth,
        site_path="subject__site",
        pk=withdrawal_id,
    )


@router.get(
    "/subjects/{subject_id}/withdrawals",
    response=list[WithdrawalOut],
    summary="The subject's withdrawals of consent",
    description=f"Latest first. {API_PAGE_DESCRIPTION}",
)
def list_withdrawals(
    request,
    subject_id: PathId,
    response: HttpResponse,
    page: PageQuery = 1,
    page_size: PageSizeQuery = PAGE_SIZE,
):
    subject = subject_for(request.auth, subject_id)
    rows = subject.withdrawals.order_by("-withdrawal_date", "-id")
    return api_page(request, response, rows, page, page_size)


@router.post(
    "/subjects/{subject_id}/withdrawals",
    response={201: WithdrawalOut},
    summary="Record a withdrawal of consent",
    description=(
        "Not before consent nor in the future. Scope `all_follow_up` or `data_use` makes the "
        "subject withdrawn; `treatment_only` leaves the status (record the end of treatment)."
    ),
)
def record_withdrawal(request, subject_id: PathId, payload: WithdrawalIn):
    subject = subject_for(request.auth, subject_id)
    _writer(request, subject)
    return Status(201, services.save_withdrawal(subject=subject, by=request.auth, **payload.dict()))


@router.get("/withdrawals/{withdrawal_id}", response=WithdrawalOut, summary="One withdrawal")
def get_withdrawal(request, withdrawal_id: PathId):
    return _withdrawal(request, withdrawal_id)


@router.patch(
    "/withdrawals/{withdrawal_id}",
    response=WithdrawalOut,
    summary="Correct a withdrawal of consent",
    description=_CORRECTION
    + " A withdrawal that ended participation keeps its date and scope (`date_fixed`, "
    "`scope_fixed`); one from treatment only cannot be widened (`ends_participation`).",
)
def correct_withdrawal(request, withdrawal_id: PathId, payload: WithdrawalPatch):
    record = _withdrawal(request, withdrawal_id)
    _writer(request, record.subject)
    changes = payload.dict(exclude_unset=True)
    _no_nulls(changes)
    values = {"withdrawal_date": record.withdrawal_date, "scope": record.scope}
    version, reason = changes.pop("version"), changes.pop("reason")
    return services.save_withdrawal(
        subject=record.subject,
        by=request.auth,
        withdrawal=record,
        expected_version=version,
        reason=reason,
        **(values | changes),
    )
