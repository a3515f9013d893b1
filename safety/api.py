"""Safety over the API: CTCAE term search, adverse events with their grade history, causality
e-signature, SAE reports, lab panels with their CTCAE grades, and a grading calculator.

The same access helper and services as the pages: reads need a site the user may see (another
site's record is 404), writes need a coordinator or investigator of the subject's site, the
causality signature an investigator (403 otherwise). Refusals are 422
``{"errors": [{"field", "code", "message"}]}`` with the services' field names (``onset_date``,
``anc-unit``), 409 on a stale ``version``. Everything derived (worst grade, days at each grade,
reporting window, overdue, offered AEs) is computed from the stored records each time, for a
whole page at once: the lists (adverse events, SAE reports, lab panels) are paginated
(``alter_s006.pagination``) and answer in the same number of queries whatever their length.
"""

from __future__ import annotations

from typing import Annotated

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils import timezone
from ninja import Router, Status

from accounts.access import Action, get_scoped_or_404, require
from alter_s006 import protocol as P
from alter_s006.api_types import (
    PathId,
    Query,
    QueryBool,
    QueryInt,
    Text,
)
from alter_s006.pagination import (
    API_PAGE_DESCRIPTION,
    PAGE_SIZE,
    PageQuery,
    PageSizeQuery,
    api_page,
)
from alter_s006.web import subject_for
from dosing.models import DoseEvent
from safety import grading, selectors, services
from safety.models import AdverseEvent, CtcaeTerm, LabPanel, LabResult, SaeReport
from safety.schemas import (
    ANALYTES_BY_TERM,
    AeIn,
    AeOut,
    AePatch,
    CausalityIn,
    FollowUpIn,
    GradeOut,
    GradingIn,
    LabPanelCorrectionIn,
    LabPanelIn,
    LabPanelOut,
    SaeDraftIn,
    SaeReportOut,
    SaeSubmitIn,
    TermOut,
)
from subjects.models import Subject, Visit

router = Router(tags=["safety"])

_Q = "Words of a term or its SOC, or the digits of a MedDRA code"

# --- helpers --------------------------------------------------------------------------------


def _ae(request, ae_id: int) -> AdverseEvent:
    return get_scoped_or_404(
        AdverseEvent.objects.select_related("subject__site", "term"),
        request.auth,
        site_path="subject__site",
        pk=ae_id,
    )


def _term_out(term: CtcaeTerm) -> dict:
    return {
        "id": term.pk,
        "meddra_code": term.meddra_code,
        "soc": term.soc,
        "term": term.term,
        "definition": term.definition,
        "other_specify": term.other_specify,
        "allowed_grades": list(term.allowed_grades),
        "grades": [{"grade": g, "definition": d} for g, d in term.grade_definitions()],
    }


def _report_out(report: SaeReport) -> dict:
    ae = report.ae
    return {
        "id": report.pk,
        "ae_id": ae.pk,
        "subject_id": ae.subject_id,
        "subject": str(ae.subject),
        "site": ae.subject.site.code,
        "term": ae.display_term,
        "grade": ae.grade,
        "kind": report.kind,
        "sequence": report.sequence,
        "label": report.label,
        "aware_at": report.aware_at,
        "due_at": report.due_at,
        "overdue": report.overdue,
        "submitted_at": report.submitted_at,
        "submitted_by": report.submitted_by.get_username() if report.submitted_by else None,
        "narrative": report.narrative,
        "data_hash": None if report.submitted_at else services.report_hash(report),
        "signature": _signature_out(report),
        "version": report.version,
    }


def _signature_out(report: SaeReport) -> dict | None:
    if report.signed_by_id is None:
        return None
    tz = report.ae.subject.site.tz
    return {
        "signed_by": report.signed_by.get_username(),
        "printed_name": report.signed_printed_name,
        "meaning": SaeReport.SUBMISSION_MEANING,
        "signed_at": report.signed_at,
        "signed_at_site": timezone.localtime(report.signed_at, tz).strftime("%Y-%m-%d %H:%M %Z"),
        "content_hash": report.signed_hash,
    }


_AE_FIELDS = [
    "id",
    "subject_id",
    "verbatim",
    "onset_date",
    "end_date",
    "ongoing",
    "grade",
    "serious",
    "sae_death",
    "sae_life_threatening",
    "sae_hospitalisation",
    "sae_disability",
    "sae_congenital_anomaly",
    "sae_important_medical_event",
    "relationship",
    "action_taken",
    "dose_event_id",
    "treatment_given",
    "outcome",
    "learned_on",
    "created_at",
    "version",
]


def _aes():
    """AEs with everything ``_ae_out`` reads, in a fixed number of queries."""
    return (
        AdverseEvent.objects.select_related(
            "subject__site", "term", "recorded_by", "causality_signed_by"
        )
        .prefetch_related(
            "grade_changes",
            Prefetch(
                "sae_reports",
                queryset=SaeReport.objects.select_related("submitted_by", "signed_by"),
            ),
        )
        .order_by("onset_date", "id")
    )


def _one_ae_out(ae: AdverseEvent) -> dict:
    """One AE as read back after a read or a write."""
    row = _aes().get(pk=ae.pk)
    return _ae_out(row, selectors.reporting_window(row.subject))


def _ae_out(ae: AdverseEvent, window) -> dict:
    """``ae`` as fetched by ``_aes``; ``window``: its subject's reporting window (read once)."""
    summary = services.grade_summary(ae)
    causality = None
    if ae.causality_signed:
        causality = {
            "relationship": ae.relationship,
            "signed_by": ae.causality_signed_by.get_username(),
            "printed_name": ae.causality_printed_name,
            "signed_at": ae.causality_signed_at,
            "meaning": AdverseEvent.CAUSALITY_MEANING,
        }
    return {
        **{f: getattr(ae, f) for f in _AE_FIELDS},
        "term": ae.term,
        "worst_grade": summary.worst,
        "days_at_grade": [{"grade": g, "days": d} for g, d in summary.days_at_grade.items()],
        "grade_history": [
            {"grade": row.grade, "from_date": row.from_date} for row in ae.grade_changes.all()
        ],
        "causality": causality,
        "in_window": window is not None and window.contains(ae.onset_date),
        "reporting_window": {"start": window.start, "end": window.end} if window else None,
        "sae_reports": [_report_out(r) for r in ae.sae_reports.all()],
        "recorded_by": ae.recorded_by.get_username(),
    }


def _result_out(r: LabResult) -> dict:
    fields = ["id", "analyte", "value", "diastolic", "reading", "unit", "lln", "uln", "grade"]
    return {
        **{f: getattr(r, f) for f in fields},
        "label": r.label,
        "display_value": r.display_value,
        "term": r.term,
        "definition": r.definition,
        "note": r.note,
        "ae_id": r.ae_id,
    }


def _panel_out(panel: LabPanel, offers: list[selectors.OfferedAe]) -> dict:
    """``panel`` as fetched by ``selectors.lab_panels``; ``offers``: its offered AEs (read for
    all the panels at once by ``selectors.offers_by_panel``)."""
    return {
        "id": panel.pk,
        "subject_id": panel.subject_id,
        "visit_id": panel.visit_id,
        "visit": panel.visit.code if panel.visit else None,
        "sample_date": panel.sample_date,
        "results": [_result_out(r) for r in panel.results.all()],
        "offered_aes": [
            {
                "result_id": o.result.pk,
                "analyte": o.result.analyte,
                "term_id": o.term.pk,
                "term": o.term.term,
                "grade": o.prefill["grade"],
                "onset_date": o.prefill["onset_date"],
                "verbatim": o.prefill["verbatim"],
            }
            for o in offers
        ],
        "recorded_by": panel.recorded_by.get_username(),
        "created_at": panel.created_at,
        "version": panel.version,
    }


def _panels_out(panels) -> list[dict]:
    panels = list(panels)
    offers = selectors.offers_by_panel(panels)
    return [_panel_out(p, offers.get(p.pk, [])) for p in panels]


def _term(term_id: int) -> CtcaeTerm:
    try:
        return CtcaeTerm.objects.get(pk=term_id)
    except CtcaeTerm.DoesNotExist:
        raise ValidationError(
            {"term": ValidationError("Choose a CTCAE v4.03 term.", code="not_found")}
        ) from None


def _dose_event(subject: Subject, event_id: int | None) -> DoseEvent | None:
    """A dose modification of this subject (another subject's is "not found", never shown)."""
    if event_id is None:
        return None
    try:
        return DoseEvent.objects.get(pk=event_id, subject=subject)
    except DoseEvent.DoesNotExist:
        raise ValidationError(
            {
                "dose_event": ValidationError(
                    "No such dose modification for this subject.", code="not_found"
                )
            }
        ) from None


def _visit(subject: Subject, visit_id: int | None) -> Visit | None:
    if visit_id is None:
        return None
    visit = Visit.objects.filter(pk=visit_id, subject=subject).first()
    if visit is None:
        raise ValidationError(
            {
                "visit": ValidationError(
                    "Choose a cycle visit of this subject.", code="not_a_cycle_visit"
                )
            }
        )
    return visit


def _lab_result(subject: Subject, result_id: int | None) -> LabResult | None:
    if result_id is None:
        return None
    try:
        return LabResult.objects.select_related("panel").get(pk=result_id, panel__subject=subject)
    except LabResult.DoesNotExist:
        raise ValidationError(
            {"lab_result": ValidationError("No such lab value for this subject.", code="not_found")}
        ) from None


# --- the dictionary and the grading calculator ----------------------------------------------


@router.get(
    "/ctcae/terms",
    response=list[TermOut],
    summary="Search CTCAE v4.03 terms by term, system organ class or MedDRA code",
    description=(
        "Every word of `q` must occur in the term or its SOC; digits search MedDRA codes by "
        "prefix. The exact term first, then terms starting with `q`. Empty `q`: no terms."
    ),
)
def search_ctcae_terms(
    request,
    q: Annotated[Text, Query("", description=_Q, max_length=100)] = "",
    limit: Annotated[QueryInt, Query(20, description="At most this many terms", ge=1, le=100)] = 20,
):
    require(request.auth, Action.VIEW)
    return [_term_out(t) for t in selectors.search_terms(q, limit=limit)]


@router.post(
    "/grading",
    response=GradeOut,
    summary="CTCAE v4.03 grade of one value (lab analyte, blood pressure or QTc)",
    description=(
        "Computes and stores nothing. `analyte`: one of the lab panel's analytes, or "
        "`blood_pressure` with `systolic` and `diastolic` (mm Hg). LLN/ULN in the unit of the "
        "value; only the limits the term's CTCAE wording uses are read (Anemia: the LLN; "
        "Hyperglycemia: the ULN), and only when the value's grade depends on them "
        "(`limits_used` says which did). A refusal is 422 on the field at fault."
    ),
)
def grade_value(request, payload: GradingIn):
    require(request.auth, Action.VIEW)
    if not payload.analyte:
        candidates = ANALYTES_BY_TERM.get(payload.term.strip(), [])
        if len(candidates) != 1:
            message = (
                f"{payload.term} is graded from {' or '.join(candidates)}: give the analyte."
                if candidates
                else "Give the analyte, or a CTCAE term graded from a lab value, BP or QTc."
            )
            code = "term_has_several_analytes" if candidates else "analyte_required"
            raise ValidationError(
                {"analyte" if not candidates else "term": ValidationError(message, code=code)}
            )
        payload.analyte = candidates[0]
    try:
        if payload.analyte == "blood_pressure":
            result = grading.grade_blood_pressure(payload.systolic, payload.diastolic)
            offered = ["mm Hg"]
        else:
            result = grading.grade(
                payload.analyte,
                payload.value,
                payload.unit,
                lln=payload.lln,
                uln=payload.uln,
                baseline=payload.baseline,
                confirmed=payload.confirmed,
                term=payload.term.strip(),
            )
            offered = list(grading.ANALYTES[payload.analyte].units)
    except grading.GradingError as exc:
        raise ValidationError({exc.field: ValidationError(exc.message, code=exc.code)}) from exc
    return {
        "analyte": result.analyte,
        "term": result.term,
        "grade": result.grade,
        "definition": result.definition,
        "note": result.note,
        "units": offered,
        "limits_used": list(result.limits_used),
    }


# --- adverse events -------------------------------------------------------------------------


@router.get(
    "/subjects/{subject_id}/adverse-events",
    response=list[AeOut],
    summary="The subject's adverse events with grade history, worst grade and SAE reports",
    description=f"In onset order. {API_PAGE_DESCRIPTION}",
)
def list_adverse_events(
    request,
    subject_id: PathId,
    response: HttpResponse,
    page: PageQuery = 1,
    page_size: PageSizeQuery = PAGE_SIZE,
):
    subject = subject_for(request.auth, subject_id)
    window = selectors.reporting_window(subject)
    rows = api_page(request, response, _aes().filter(subject=subject), page, page_size)
    return [_ae_out(ae, window) for ae in rows]


@router.post(
    "/subjects/{subject_id}/adverse-events",
    response={201: AeOut},
    summary="Record an adverse event",
    description=(
        "Refused (422, nothing stored): a grade the term does not have, an end before the "
        "onset, an onset before consent or in the future, serious without a criterion (or a "
        "criterion without serious), an 'Other, specify' term without verbatim, a dose "
        "modification of another kind than the action. Outside the reporting window it is "
        "stored with `in_window` false and a query. Serious: the initial SAE report is due "
        f"{P.SAE_REPORT_HOURS} h after `learned_on`. Grade 5 / fatal: the subject's death is "
        "recorded on the end date."
    ),
)
def record_adverse_event(request, subject_id: PathId, payload: AeIn):
    subject = subject_for(request.auth, subject_id)
    require(request.auth, Action.ENTER_DATA, subject.site_id)
    data = payload.dict()
    data["term"] = _term(data.pop("term_id"))
    data["dose_event"] = _dose_event(subject, data.pop("dose_event_id"))
    data["lab_result"] = _lab_result(subject, data.pop("lab_result_id"))
    ae = services.record_ae(subject=subject, by=request.auth, **data)
    return Status(201, _one_ae_out(ae))


@router.get("/adverse-events/{ae_id}", response=AeOut, summary="One adverse event")
def get_adverse_event(request, ae_id: PathId):
    return _one_ae_out(_ae(request, ae_id))


@router.patch(
    "/adverse-events/{ae_id}",
    response=AeOut,
    summary="Update or correct an adverse event (version and reason required)",
    description=(
        "Send only the fields that change. A new `grade` needs `grade_from`: a later date adds "
        "a step to the grade history, the date of the last step corrects it. A change of term "
        "voids the causality signature. 409 if the event changed since `version`."
    ),
)
def update_adverse_event(request, ae_id: PathId, payload: AePatch):
    ae = _ae(request, ae_id)
    require(request.auth, Action.ENTER_DATA, ae.subject.site_id)
    changes = payload.dict(exclude_unset=True)
    version, reason = changes.pop("version"), changes.pop("reason")
    grade_from = changes.pop("grade_from", None)
    sae_aware_at = changes.pop("sae_aware_at", None)
    if "term_id" in changes:
        changes["term"] = _term(changes.pop("term_id"))
    if "dose_event_id" in changes:
        changes["dose_event"] = _dose_event(ae.subject, changes.pop("dose_event_id"))
    nulls = [k for k, v in changes.items() if v is None and k not in ("end_date", "dose_event")]
    if nulls:
        raise ValidationError(
            {k: ValidationError("This field cannot be empty.", code="null") for k in nulls}
        )
    updated = services.update_ae(
        ae=ae,
        by=request.auth,
        expected_version=version,
        reason=reason,
        changes=changes,
        grade_from=grade_from,
        sae_aware_at=sae_aware_at,
    )
    return _one_ae_out(updated)


@router.post(
    "/adverse-events/{ae_id}/causality",
    response=AeOut,
    summary="Sign the causality assessment (investigator of the subject's site)",
    description=(
        f"Meaning of the signature: “{AdverseEvent.CAUSALITY_MEANING}”. The password is "
        "checked as at login (failed attempts count towards the lockout); a wrong one signs "
        "nothing (422 on `password`). 409 if the event changed since `version`."
    ),
)
def sign_causality(request, ae_id: PathId, payload: CausalityIn):
    ae = _ae(request, ae_id)
    require(request.auth, Action.SIGN, ae.subject.site_id)
    signed = services.sign_causality(
        ae=ae,
        by=request.auth,
        relationship=payload.relationship,
        password=payload.password,
        request=request,
        expected_version=payload.version,
    )
    return _one_ae_out(signed)


# --- SAE reports ----------------------------------------------------------------------------


@router.get(
    "/sae-reports",
    response=list[SaeReportOut],
    summary="SAE reports of your sites: overdue first, then pending by due time, then submitted",
    description=API_PAGE_DESCRIPTION,
)
def list_sae_reports(
    request,
    response: HttpResponse,
    overdue: Annotated[QueryBool, Query(False, description="Only reports past due")] = False,
    page: PageQuery = 1,
    page_size: PageSizeQuery = PAGE_SIZE,
):
    reports = selectors.sae_listing(request.auth, signers=True)
    if overdue:
        reports = reports.filter(submitted_at__isnull=True, due_at__lt=timezone.now())
    return [_report_out(r) for r in api_page(request, response, reports, page, page_size)]


def _sae_report(request, report_id: int) -> SaeReport:
    return get_scoped_or_404(
        SaeReport.objects.select_related("ae__subject__site", "ae__term"),
        request.auth,
        site_path="ae__subject__site",
        pk=report_id,
    )


@router.put(
    "/sae-reports/{report_id}/draft",
    response=SaeReportOut,
    summary="Prepare an SAE report: store its narrative (coordinator or investigator)",
    description=(
        "Not a submission: an investigator submits the report with an e-signature "
        "(`POST .../submit`). 409 if the report changed since `version`; 422 "
        "`already_submitted` once submitted."
    ),
)
def draft_sae_report(request, report_id: PathId, payload: SaeDraftIn):
    report = _sae_report(request, report_id)
    require(request.auth, Action.ENTER_DATA, report.ae.subject.site_id)
    saved = services.save_sae_draft(
        report=report,
        by=request.auth,
        narrative=payload.narrative,
        expected_version=payload.version,
    )
    return _report_out(saved)


@router.post(
    "/sae-reports/{report_id}/submit",
    response=SaeReportOut,
    summary="Submit an SAE report: the investigator's e-signature (investigators only)",
    description=(
        f"Meaning of the signature: “{SaeReport.SUBMISSION_MEANING}”. Any other role is "
        "403 (a coordinator prepares the report with `PUT .../draft`). The password is checked "
        "as at login (failed attempts count towards the lockout; 422 `wrong_password` / "
        "`account_locked`); `data_hash` is the report's `data_hash` as read, and a report or "
        "adverse event changed since is 422 `changed_since_shown`, nothing signed."
    ),
)
def submit_sae_report(request, report_id: PathId, payload: SaeSubmitIn):
    report = _sae_report(request, report_id)
    require(request.auth, Action.SIGN, report.ae.subject.site_id)
    submitted = services.submit_sae_report(
        report=report,
        by=request.auth,
        narrative=payload.narrative,
        password=payload.password,
        expected_hash=payload.data_hash,
        request=request,
    )
    return _report_out(submitted)


@router.post(
    "/adverse-events/{ae_id}/sae-reports",
    response={201: SaeReportOut},
    summary="Request the next follow-up report of an SAE (earlier reports submitted)",
)
def add_sae_follow_up(request, ae_id: PathId, payload: FollowUpIn):
    ae = _ae(request, ae_id)
    require(request.auth, Action.ENTER_DATA, ae.subject.site_id)
    report = services.add_follow_up(ae=ae, by=request.auth, due_at=payload.due_at)
    report = SaeReport.objects.select_related("ae__subject__site", "ae__term").get(pk=report.pk)
    return Status(201, _report_out(report))


# --- lab panels -----------------------------------------------------------------------------


@router.get(
    "/subjects/{subject_id}/lab-panels",
    response=list[LabPanelOut],
    summary="Lab panels (latest first) with CTCAE grades and the AEs they offer",
    description=API_PAGE_DESCRIPTION,
)
def list_lab_panels(
    request,
    subject_id: PathId,
    response: HttpResponse,
    page: PageQuery = 1,
    page_size: PageSizeQuery = PAGE_SIZE,
):
    subject = subject_for(request.auth, subject_id)
    return _panels_out(api_page(request, response, selectors.lab_panels(subject), page, page_size))


@router.post(
    "/subjects/{subject_id}/lab-panels",
    response={201: LabPanelOut},
    summary="Record a lab panel: each value graded by CTCAE v4.03 against the site's ranges",
    description=(
        "All or nothing: a unit the analyte does not use, a value that is not a number, an "
        "analyte the site has no reference range for (when its grade needs the LLN/ULN) is "
        "422 on `<analyte>-value` or `<analyte>-unit` (`systolic` / `diastolic` for the blood "
        "pressure). TSH and FT4 are not graded (clinical judgement)."
    ),
)
def record_lab_panel(request, subject_id: PathId, payload: LabPanelIn):
    subject = subject_for(request.auth, subject_id)
    require(request.auth, Action.ENTER_DATA, subject.site_id)
    visit = _visit(subject, payload.visit_id)
    bp = payload.blood_pressure
    panel = services.record_lab_panel(
        subject=subject,
        by=request.auth,
        sample_date=payload.sample_date,
        visit=visit,
        values={k: (v.value, v.unit) for k, v in payload.values.items()},
        systolic=bp.systolic if bp else None,
        diastolic=bp.diastolic if bp else None,
        qtc_confirmed=payload.qtc_confirmed,
    )
    return Status(201, _panels_out(selectors.lab_panels(subject).filter(pk=panel.pk))[0])


@router.put(
    "/lab-panels/{panel_id}",
    response=LabPanelOut,
    summary="Correct a lab panel: the whole panel as it should read (version and reason)",
    description=(
        "Validated and graded as when recorded (an analyte left out is removed); every value "
        "is graded again, the offered AEs and the 'grade >= "
        f"{P.LAB_AE_OFFER_MIN_GRADE} without an AE' queries follow the corrected grades. "
        "409 if the panel changed since `version`; the reason goes on the audit trail."
    ),
)
def correct_lab_panel(request, panel_id: PathId, payload: LabPanelCorrectionIn):
    panel = get_scoped_or_404(
        LabPanel.objects.select_related("subject__site"),
        request.auth,
        site_path="subject__site",
        pk=panel_id,
    )
    subject = panel.subject
    require(request.auth, Action.ENTER_DATA, subject.site_id)
    bp = payload.blood_pressure
    services.correct_lab_panel(
        panel=panel,
        by=request.auth,
        expected_version=payload.version,
        reason=payload.reason,
        sample_date=payload.sample_date,
        visit=_visit(subject, payload.visit_id),
        values={k: (v.value, v.unit) for k, v in payload.values.items()},
        systolic=bp.systolic if bp else None,
        diastolic=bp.diastolic if bp else None,
        qtc_confirmed=payload.qtc_confirmed,
    )
    return _panels_out(selectors.lab_panels(subject).filter(pk=panel.pk))[0]
