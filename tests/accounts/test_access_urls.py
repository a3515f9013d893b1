"""Who may open what: every URL of the project x every member of the cast (PROTOCOL.md "Roles").

The table below is the access policy written out. Pages log in with a session and send an
anonymous visitor to the login page; the API authenticates with a bearer token and answers
an anonymous caller 401. A subject or visit of a site the user cannot see is 404, never 403.
A URL added to the project without a row here fails ``test_every_url_is_in_the_access_table``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.db.models import Model
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import ApiToken, Role
from assessments.models import Lesion, Timepoint
from dosing.models import Dispensing, DoseEvent
from eligibility.models import EligibilitySignature, ReferenceRange, Screening
from eligibility.services import save_screening
from logs.models import ConMed, Deviation, MedicalHistory
from outcomes.models import Death, EndOfTreatment, SurvivalFollowUp, Withdrawal
from safety.models import AdverseEvent, CtcaeTerm, LabPanel, SaeReport
from safety.services import load_ctcae
from subjects.models import Subject, Visit
from tests.factories import (
    PASSWORD,
    SiteFactory,
    add_reference_ranges,
    eligible_screening_data,
    make_subject,
    member,
    sign_eligible,
)

# Columns of every row, in this order.
MEMBERS = (
    "anonymous",
    "coordinator_a",
    "investigator_a",
    "coordinator_b",  # other site: site A's records do not exist for them
    "monitor_a",  # reads site A, never writes clinical data
    "data_manager",  # reads every site, enters no CRF data
)

# Public URLs outside the table: Django admin (its own permissions), language switch, API docs.
NOT_IN_TABLE_NAMESPACES = {"admin"}
NOT_IN_TABLE = {"set_language", "api:openapi-json", "api:openapi-view"}


@dataclass(frozen=True)
class Url:
    """One URL: its arguments, the expected status per member for each method, the body sent."""

    expect: dict[str, tuple[int, int, int, int, int, int]]
    args: Callable[[SimpleNamespace], list] = lambda w: []
    body: Callable[[SimpleNamespace], dict] = lambda w: {}
    api: bool = False
    writes: bool = False  # a successful request changes clinical data
    setup: Callable[[SimpleNamespace], None] = lambda w: None  # data the request needs


def subject_args(w):
    return [w.subject.pk]


def visit_args(w):
    return [w.subject.pk, w.visit.pk]


def registration(w):
    return {
        "site": w.site_a.pk,
        "sex": "M",
        "date_of_birth": "1975-02-03",
        "initials": "QRS",
        "consent_date": (w.today - dt.timedelta(days=1)).isoformat(),
        "consent_version": "2.1",
    }


def correction(w):
    s = w.subject
    return {
        "version": s.version,
        "reason": "Initials misread from the consent form",
        "sex": s.sex,
        "date_of_birth": s.date_of_birth.isoformat(),
        "year_of_birth": "",
        "initials": "ZWM",
        "consent_date": s.consent_date.isoformat(),
        "consent_version": s.consent_version,
    }


def enrolment(w):
    return {
        "version": w.subject.version,
        "target": "enrolled",
        "on_date": w.today.isoformat(),
        "c1d1": (w.today + dt.timedelta(days=7)).isoformat(),
        "reason": "",
    }


def signed_for_enrolment(w):
    """Enrolment needs an investigator-signed eligible verdict for that C1D1."""
    sign_eligible(w.subject, planned_c1d1=w.today + dt.timedelta(days=7))


def eligible_screening_saved(w):
    add_reference_ranges(w.site_a)
    save_screening(
        subject=w.subject,
        changes=eligible_screening_data(w.subject),
        expected_version=None,
        by=w.subject.created_by,
    )


JUDGEMENT_CRITERIA = ("I04", "E11", "E16")  # answered in favour by eligible_screening_data


def shown_data_hash(subject) -> str:
    """The data hash the eligibility verdict shows now (signing requires it)."""
    from eligibility.services import data_hash, get_screening

    fresh = type(subject).objects.get(pk=subject.pk)
    return data_hash(fresh, get_screening(fresh))


def failing_screening_saved(w):
    save_screening(
        subject=w.subject,
        changes=eligible_screening_data(w.subject, prior_anlotinib=True),
        expected_version=None,
        by=w.subject.created_by,
    )


def screening_form(w):
    """The eligible screening as the browser posts it."""

    def encode(value):
        if value is None:
            return ""
        if isinstance(value, bool):
            return str(value)
        return value.isoformat() if hasattr(value, "isoformat") else str(value)

    return {k: encode(v) for k, v in eligible_screening_data(w.subject).items()}


def screening_json(w):
    """The eligible screening as an API client sends it (JSON: ISO dates, decimal strings)."""

    def encode(value):
        if isinstance(value, bool) or value is None or isinstance(value, int):
            return value
        return value.isoformat() if hasattr(value, "isoformat") else str(value)

    return {k: encode(v) for k, v in eligible_screening_data(w.subject).items()}


def on_treatment(w):
    """Enrolled 2 days ago, first dose (C1D1) yesterday, 28 capsules dispensed that day."""
    from dosing.services import record_dispensing
    from subjects.services import change_status
    from tests.factories import enrol

    c1d1 = w.today - dt.timedelta(days=1)
    subject = enrol(w.subject, on_date=w.today - dt.timedelta(days=2), c1d1=c1d1)
    subject = change_status(
        subject=subject,
        target="on_treatment",
        on_date=c1d1,
        reason="",
        by=subject.created_by,
        expected_version=subject.version,
    )
    w.dispensing = record_dispensing(
        subject=subject,
        by=subject.created_by,
        dispensed_on=c1d1,
        strength_mg=12,
        lot_number="A2311",
        expiry=w.today + dt.timedelta(days=300),
        capsules=28,
    )


def with_baseline(w):
    """On treatment (C1D1 yesterday) with one target lesion, liver 40 mm, 3 days ago."""
    from assessments.services import record_baseline

    on_treatment(w)
    w.subject.refresh_from_db()
    [w.lesion] = record_baseline(
        subject=w.subject,
        by=w.subject.created_by,
        targets=[
            {
                "lesion_id": "T1",
                "organ": "liver",
                "method": "CT",
                "slice_thickness_mm": 5,
                "baseline_date": w.today - dt.timedelta(days=3),
                "diameter_mm": 40,
            }
        ],
        non_targets=[],
    )


def with_timepoint(w):
    """... and one assessment today (T1 38 mm: SD)."""
    from assessments.services import record_timepoint

    with_baseline(w)
    w.timepoint = record_timepoint(
        subject=w.subject,
        by=w.subject.created_by,
        scan_date=w.today,
        measurements={"T1": ("measured", 38)},
        non_target_status="",
        new_lesion="no",
    ).timepoint


def timepoint_form(w):
    return {
        "scan_date": w.today.isoformat(),
        "measurements-T1": "measured",
        "measurements-T1-mm": "36",
        "new_lesion": "no",
    }


def timepoint_json(w):
    return {
        "scan_date": w.today.isoformat(),
        "measurements": {"T1": {"diameter_mm": 36}},
        "new_lesion": "no",
    }


def lesion_json(w):
    return {
        "lesion_id": "T1",
        "organ": "liver",
        "method": "CT",
        "slice_thickness_mm": 5,
        "baseline_date": (w.today - dt.timedelta(days=3)).isoformat(),
        "diameter_mm": 40,
    }


def dispensing_args(w):
    return [w.subject.pk, w.dispensing.pk]


# safety
def ae_json(w):
    """Grade 2 hypertension since today, ongoing, as an API client posts it."""
    from safety.models import CtcaeTerm

    return {
        "term_id": CtcaeTerm.objects.get(term="Hypertension").pk,
        "grade": 2,
        "onset_date": w.today.isoformat(),
        "ongoing": True,
        "outcome": "not_recovered",
    }


def with_ae(w, **extra):
    """On treatment, with that adverse event recorded by the coordinator."""
    from safety.models import CtcaeTerm
    from safety.services import load_ctcae, record_ae

    on_treatment(w)
    if not CtcaeTerm.objects.exists():  # a browser test's flush empties the dictionary
        load_ctcae()
    w.subject.refresh_from_db()
    data = ae_json(w)
    w.ae = record_ae(
        subject=w.subject,
        by=w.subject.created_by,
        term=CtcaeTerm.objects.get(pk=data.pop("term_id")),
        **{**data, "onset_date": w.today, **extra},
    )


def with_sae(w):
    """... serious (hospitalisation): its initial report is open."""
    with_ae(w, serious=True, sae_hospitalisation=True)
    w.report = w.ae.sae_reports.get()


def with_submitted_sae(w):
    from django.test import RequestFactory

    from safety.services import report_hash, submit_sae_report
    from tests.factories import investigator_of

    with_sae(w)
    submit_sae_report(
        report=w.report,
        by=investigator_of(w.subject.site),
        narrative="Admitted.",
        password=PASSWORD,
        expected_hash=report_hash(w.report),
        request=RequestFactory().post("/"),
    )


def sae_signature(w, prefix=""):
    """The investigator's e-signed submission of the open report, as the page or API posts it."""
    from safety.services import report_hash

    return {
        f"{prefix}narrative": "Admitted for blood pressure control.",
        f"{prefix}password": PASSWORD,
        f"{prefix}data_hash": report_hash(w.report),
    }


def with_panel(w):
    """... with a lab panel of today (ANC 0.8 x10^9/L) recorded by the coordinator."""
    from safety.services import record_lab_panel

    with_ranges(w)
    w.panel = record_lab_panel(
        subject=w.subject,
        by=w.subject.created_by,
        sample_date=w.today,
        values={"anc": ("0.8", "10^9/L")},
    )


def panel_correction(w, api=False):
    body = {"sample_date": w.today.isoformat(), "version": w.panel.version, "reason": "Typo"}
    if api:
        return body | {"values": {"anc": {"value": "2.0", "unit": "10^9/L"}}}
    return body | {"anc-value": "2.0", "anc-unit": "10^9/L"}


def with_ranges(w):
    """On treatment, with the site's laboratory reference ranges (the lab panel grades)."""
    on_treatment(w)
    add_reference_ranges(w.site_a)


def hypertension_pk():
    from safety.models import CtcaeTerm
    from safety.services import load_ctcae

    if not CtcaeTerm.objects.exists():  # a browser test's flush empties the dictionary
        load_ctcae()
    return CtcaeTerm.objects.get(term="Hypertension").pk


def ae_form(w):
    """Grade 2 hypertension since today, ongoing, as the page posts it."""
    return {
        "term": hypertension_pk(),
        "grade": "2",
        "onset_date": w.today.isoformat(),
        "ongoing": "on",
        "action_taken": "none",
        "outcome": "not_recovered",
    }


def ae_page_args(w):
    return [w.subject.pk, w.ae.pk]


def ae_args(w):
    return [w.ae.pk]


# logs (issue 13 log forms)
def con_med_form(w):
    """Paracetamol 500 mg as needed since today, ongoing, as the page posts it."""
    return {
        "name": "Paracetamol",
        "dose": "500",
        "unit": "mg",
        "route": "oral",
        "frequency": "prn",
        "start_date": w.today.isoformat(),
        "ongoing": "on",
    }


def con_med_json(w):
    return con_med_form(w) | {"ongoing": True}


def history_json(w):
    return {"condition": "Hypertension", "start_date": "2020-01-01", "ongoing": True}


def deviation_json(w):
    return {
        "category": "dosing",
        "description": "Dose taken late.",
        "occurred_on": w.today.isoformat(),
    }


def with_con_med(w):
    """The subject's concomitant medication, medical history item and deviation."""
    from logs import services

    data = con_med_json(w) | {"start_date": w.today, "dose": 500}
    w.con_med = services.record_con_med(subject=w.subject, by=w.subject.created_by, **data)
    w.history = services.record_history(
        subject=w.subject,
        by=w.subject.created_by,
        condition="Hypertension",
        start_date=dt.date(2020, 1, 1),
        ongoing=True,
    )
    w.deviation = services.record_deviation(
        subject=w.subject,
        by=w.subject.created_by,
        category="dosing",
        description="Dose taken late.",
        occurred_on=w.today,
    )


def logs_args(name):
    return lambda w: [w.subject.pk, getattr(w, name).pk]


def visit_record(w):
    return {
        "version": w.visit.version,
        "actual_date": w.today.isoformat(),
        "note": "",
        "reason": "",
    }


# visit CRFs (issue 13): the screening visit of subject ZWL
def screening_vitals(w):
    return {
        "assessed_on": w.today.isoformat(),
        "systolic": "128",
        "diastolic": "82",
        "heart_rate": "70",
        "temperature": "36.6",
        "weight": "70.5",
        "height": "168",
        "not_done_reason": "",
    }


def with_physical_exam(w):
    from crfs.services import save_crf

    w.exam = save_crf(
        visit=w.visit,
        form_key="physical_exam",
        by=w.subject.created_by,
        values={"assessed_on": w.today, "result": "normal", "findings": ""},
    )


def exam_json(w):
    return {"assessed_on": w.today.isoformat(), "result": "abnormal", "findings": "Rash, back"}


def exam_correction(w):
    return exam_json(w) | {"version": 1, "reason": "Rash missed at first entry"}


# reference ranges
def with_site_ranges(w):
    """Site A's laboratory ranges; ``w.range`` is its ALT range (7-40 U/L from 2020-01-01)."""
    from eligibility.models import ReferenceRange

    add_reference_ranges(w.site_a)
    w.range = ReferenceRange.objects.get(site=w.site_a, analyte="alt")


def range_args(w):
    return [w.range.pk]


def new_range(w):
    """ALT for women from 2026-01-01 (a range of its own beside the one for both sexes)."""
    return {
        "site": w.site_a.pk,
        "analyte": "alt",
        "sex": "F",
        "unit": "U/L",
        "lln": "7",
        "uln": "35",
        "valid_from": "2026-01-01",
        "reason": "Laboratory added a range for women",
    }


def range_correction(w):
    return {
        "version": w.range.version,
        "unit": "U/L",
        "lln": "7",
        "uln": "45",
        "valid_from": "2020-01-01",
        "reason": "ULN misread from the laboratory sheet",
    }


def range_supersession(w):
    return {
        "version": w.range.version,
        "valid_from": "2026-01-01",
        "unit": "U/L",
        "lln": "7",
        "uln": "45",
        "reason": "Laboratory sent its 2026 ranges",
    }


#                   anonymous  coord_a  inv_a  coord_b  monitor_a  data_manager
# outcomes
def eot_form(w):
    return {"decision_date": w.today.isoformat(), "stop_reason": "progression"}


def with_eot(w):
    """On treatment (C1D1 yesterday), treatment ended today for progression: off treatment,
    with its survival follow-up visits planned (SURV1 is ``w.surv``)."""
    from outcomes.services import save_end_of_treatment

    on_treatment(w)
    w.subject.refresh_from_db()
    w.eot = save_end_of_treatment(
        subject=w.subject, by=w.subject.created_by, decision_date=w.today, stop_reason="progression"
    )
    w.surv = w.subject.visits.get(code="SURV1")


def death_form(w):
    return {"death_date": w.today.isoformat(), "cause": "disease_progression", "autopsy": "no"}


def with_death(w):
    from outcomes.services import save_death

    on_treatment(w)
    w.subject.refresh_from_db()
    w.death = save_death(
        subject=w.subject, by=w.subject.created_by, **death_form(w) | {"death_date": w.today}
    )


def follow_up_json(w):
    return {
        "contact_date": w.today.isoformat(),
        "mode": "telephone",
        "status": "alive",
        "last_known_alive": w.today.isoformat(),
    }


def follow_up_form(w):
    return follow_up_json(w) | {"therapies-TOTAL_FORMS": "0", "therapies-INITIAL_FORMS": "0"}


def with_follow_up(w):
    from outcomes.services import save_survival_follow_up

    with_eot(w)
    w.follow_up = save_survival_follow_up(
        visit=w.surv,
        by=w.subject.created_by,
        contact_date=w.today,
        mode="telephone",
        status="alive",
        last_known_alive=w.today,
    )


def with_withdrawal(w):
    """A withdrawal of consent from treatment only, today (the status stays)."""
    from outcomes.services import save_withdrawal

    w.withdrawal = save_withdrawal(
        subject=w.subject, by=w.subject.created_by, withdrawal_date=w.today, scope="treatment_only"
    )


def surv_args(w):
    return [w.subject.pk, w.surv.pk]


# queries (issue 14 section 1): a query raised by monitor_a on the AE's onset date
def _user(username):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def with_query(w):
    from queries.services import raise_query

    with_ae(w)
    w.query = raise_query(
        user=_user("monitor_a"),
        subject=w.subject,
        record_type="safety.adverseevent",
        record_id=w.ae.pk,
        field="onset_date",
        text="Onset per source?",
    )


def with_answered_query(w):
    from queries.services import answer

    with_query(w)
    w.query = answer(query=w.query, user=w.subject.created_by, text="Checked the source.")


def with_closed_query(w):
    from queries.services import close

    with_answered_query(w)
    w.query = close(query=w.query, user=_user("monitor_a"))


def with_system_query(w):
    from queries.models import Query
    from queries.services import sync_check

    with_ae(w)
    sync_check(
        record=w.ae,
        subject=w.subject,
        check="access.test_check",
        field="onset_date",
        failing=True,
        text="Fails the check",
    )
    w.query = Query.objects.get(edit_check="access.test_check")


def query_raise_json(w):
    return {
        "record_type": "safety.adverseevent",
        "record_id": w.ae.pk,
        "field": "onset_date",
        "text": "Onset per source?",
    }


def query_args(w):
    return [w.query.pk]


def _query_action(name, setup, expect, text="A comment"):
    return Url(
        {"POST": expect},
        args=query_args,
        body=lambda w: {"text": text},
        api=True,
        writes=True,
        setup=setup,
    )


ACCESS: dict[str, Url] = {
    "home": Url({"GET": (302, 200, 200, 200, 200, 200)}),
    "switch-site": Url(
        {"GET": (302, 302, 302, 302, 302, 302), "POST": (302, 302, 302, 302, 302, 302)},
        body=lambda w: {"site": w.site_a.pk},
    ),
    "login": Url({"GET": (200, 302, 302, 302, 302, 302)}),
    "logout": Url({"GET": (302, 302, 302, 302, 302, 302), "POST": (302, 302, 302, 302, 302, 302)}),
    "subjects:list": Url({"GET": (302, 200, 200, 200, 200, 200)}),
    "subjects:register": Url(
        # coordinator_b is offered only site B: posting site A is refused on the form (422)
        {"GET": (302, 200, 200, 200, 403, 403), "POST": (302, 302, 302, 422, 403, 403)},
        body=registration,
        writes=True,
    ),
    "subjects:detail": Url({"GET": (302, 200, 200, 404, 200, 200)}, args=subject_args),
    "subjects:edit": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=correction,
        writes=True,
    ),
    "subjects:transition": Url(
        {"GET": (302, 302, 302, 302, 302, 302), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=enrolment,
        writes=True,
        setup=signed_for_enrolment,
    ),
    "subjects:history": Url({"GET": (302, 200, 200, 404, 200, 200)}, args=subject_args),
    "subjects:visits": Url({"GET": (302, 200, 200, 200, 200, 200)}, args=lambda w: ["overdue"]),
    "subjects:visit": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=visit_args,
        body=visit_record,
        writes=True,
    ),
    # --- visit CRFs (issue 13) ---
    "subjects:unscheduled": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {"on_date": w.today.isoformat(), "note": "Headache since yesterday"},
        writes=True,
        setup=on_treatment,
    ),
    "api:add_unscheduled_visit": Url(
        {"POST": (401, 201, 201, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {"on_date": w.today.isoformat(), "note": "Headache since yesterday"},
        api=True,
        writes=True,
        setup=on_treatment,
    ),
    **{
        f"api:list_{key}": Url({"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True)
        for key in (
            "vital_signs",
            "ecog",
            "physical_exam",
            "ecg",
            "urinalysis",
            "thyroid_function",
            "con_med_review",
            "ae_review",
            "medical_history_review",
            "ae_outcome_review",
        )
    },
    "crfs:visit": Url({"GET": (302, 200, 200, 404, 200, 200)}, args=visit_args),
    "crfs:form": Url(
        {"GET": (302, 200, 200, 404, 200, 200), "POST": (302, 302, 302, 404, 403, 403)},
        args=lambda w: [w.subject.pk, w.visit.pk, "vital_signs"],
        body=screening_vitals,
        writes=True,
    ),
    "crfs:preview": Url(
        {"POST": (302, 200, 200, 404, 403, 403)},
        args=lambda w: [w.subject.pk, w.visit.pk, "vital_signs"],
        body=screening_vitals,
    ),
    "api:visit_forms": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=lambda w: [w.visit.pk], api=True
    ),
    "api:crf_physical_exam": Url(
        {
            "GET": (401, 200, 200, 404, 200, 200),
            # the correction's body is not a new CRF's (version, reason): refused by its
            # shape before anything is read, whoever asks
            "POST": (401, 422, 422, 422, 422, 422),
            "PUT": (401, 200, 200, 404, 403, 403),
        },
        args=lambda w: [w.visit.pk],
        body=exam_correction,
        api=True,
        writes=True,
        setup=with_physical_exam,
    ),
    "api:crf_ecg": Url(
        {
            "GET": (401, 404, 404, 404, 404, 404),  # not recorded yet
            "POST": (401, 201, 201, 404, 403, 403),
            "PUT": (401, 422, 422, 422, 422, 422),  # no version, no reason
        },
        args=lambda w: [w.visit.pk],
        body=lambda w: {
            "assessed_on": w.today.isoformat(),
            "qt": 400,
            "heart_rate": 70,
            "interpretation": "normal",
        },
        api=True,
        writes=True,
    ),
    **{
        # not recorded (or not a CRF of the screening visit): 404 to everyone who may see it
        f"api:crf_{key}": Url(
            {"GET": (401, 404, 404, 404, 404, 404)}, args=lambda w: [w.visit.pk], api=True
        )
        for key in (
            "vital_signs",
            "ecog",
            "urinalysis",
            "thyroid_function",
            "con_med_review",
            "ae_review",
            "medical_history_review",
            "ae_outcome_review",
        )
    },
    # --- eligibility ---
    "eligibility:screening": Url(
        {"GET": (302, 200, 200, 404, 200, 200), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=screening_form,
        writes=True,
    ),
    "eligibility:verdict": Url(
        # computes the verdict of what is typed, stores nothing: anyone who may read
        {"GET": (302, 302, 302, 302, 302, 302), "POST": (302, 200, 200, 404, 200, 200)},
        args=subject_args,
        body=screening_form,
    ),
    "eligibility:sign": Url(
        # only an investigator of the subject's site signs
        {"GET": (302, 403, 200, 404, 403, 403), "POST": (302, 403, 302, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {
            "password": PASSWORD,
            "data_hash": shown_data_hash(w.subject),
            "attested_criteria": list(JUDGEMENT_CRITERIA),  # the investigator attests them
        },
        writes=True,
        setup=eligible_screening_saved,
    ),
    "eligibility:screen-fail": Url(
        {"GET": (302, 302, 302, 302, 302, 302), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {"version": w.subject.version},
        writes=True,
        setup=failing_screening_saved,
    ),
    "eligibility:log": Url({"GET": (302, 200, 200, 200, 200, 200)}),
    # reference ranges: data managers write; monitors read their sites'; site staff neither
    "eligibility:ranges": Url({"GET": (302, 403, 403, 403, 200, 200)}, setup=with_site_ranges),
    "eligibility:range": Url(
        {"GET": (302, 403, 403, 404, 200, 200)}, args=range_args, setup=with_site_ranges
    ),
    "eligibility:range-new": Url(
        {"GET": (302, 403, 403, 403, 403, 200), "POST": (302, 403, 403, 403, 403, 302)},
        body=new_range,
        writes=True,
        setup=with_site_ranges,
    ),
    "eligibility:range-correct": Url(
        {"GET": (302, 403, 403, 404, 403, 200), "POST": (302, 403, 403, 404, 403, 302)},
        args=range_args,
        body=range_correction,
        writes=True,
        setup=with_site_ranges,
    ),
    "eligibility:range-supersede": Url(
        {"GET": (302, 403, 403, 404, 403, 200), "POST": (302, 403, 403, 404, 403, 302)},
        args=range_args,
        body=range_supersession,
        writes=True,
        setup=with_site_ranges,
    ),
    # --- dosing ---
    "dosing:calendar": Url(
        {"GET": (302, 200, 200, 404, 200, 200), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {
            "event-kind": "interruption",
            "event-start": w.today.isoformat(),
            "event-end": (w.today + dt.timedelta(days=1)).isoformat(),
            "event-reason": "toxicity",
        },
        writes=True,
        setup=on_treatment,
    ),
    "dosing:diary": Url(
        {"GET": (302, 200, 200, 404, 200, 200)}, args=subject_args, setup=on_treatment
    ),
    "dosing:accountability": Url(
        {"GET": (302, 200, 200, 404, 200, 200), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {
            "disp-dispensed_on": w.today.isoformat(),
            "disp-strength_mg": "12",
            "disp-lot_number": "A2312",
            "disp-expiry": (w.today + dt.timedelta(days=200)).isoformat(),
            "disp-capsules": "14",
        },
        writes=True,
        setup=on_treatment,
    ),
    "dosing:return": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=dispensing_args,
        body=lambda w: {
            "version": w.dispensing.version,
            "returned_on": w.today.isoformat(),
            "returned": "10",
            "reported_missed": "0",
        },
        writes=True,
        setup=on_treatment,
    ),
    # --- tumour assessments ---
    "assessments:overview": Url(
        {"GET": (302, 200, 200, 404, 200, 200)}, args=subject_args, setup=with_timepoint
    ),
    "assessments:baseline": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {f"targets-0-{k}": v for k, v in lesion_json(w).items()},
        writes=True,
        setup=on_treatment,
    ),
    "assessments:new": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=timepoint_form,
        writes=True,
        setup=with_baseline,
    ),
    "assessments:preview": Url(
        {"POST": (302, 200, 200, 404, 200, 200)},
        args=subject_args,
        body=timepoint_form,
        setup=with_baseline,
    ),
    "assessments:edit": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=lambda w: [w.subject.pk, w.timepoint.pk],
        body=lambda w: (
            timepoint_form(w) | {"version": w.timepoint.version, "reason": "T1 re-measured"}
        ),
        writes=True,
        setup=with_timepoint,
    ),
    "assessments:lesion": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=lambda w: [w.subject.pk, w.lesion.pk],
        body=lambda w: {
            "organ": "liver",
            "location": "segment VII",
            "method": "CT",
            "slice_thickness_mm": "5",
            "baseline_date": (w.today - dt.timedelta(days=3)).isoformat(),
            "baseline_diameter_mm": "41",
            "version": w.lesion.version,
            "reason": "re-measured",
        },
        writes=True,
        setup=with_baseline,
    ),
    "queries:list": Url({"GET": (302, 200, 200, 200, 200, 200)}),
    "queries:csv": Url({"GET": (302, 200, 200, 200, 200, 200)}, setup=with_query),
    "queries:metrics": Url({"GET": (302, 403, 403, 403, 200, 200)}, setup=with_query),
    "queries:detail": Url(
        {"GET": (302, 200, 200, 404, 200, 200)}, args=query_args, setup=with_query
    ),
    "queries:act": Url(
        # the answer: the site's coordinator or investigator; monitors never answer
        {"POST": (302, 302, 302, 404, 403, 403)},
        args=lambda w: [w.query.pk, "answer"],
        body=lambda w: {"text": "The source says so."},
        writes=True,
        setup=with_query,
    ),
    "queries:raise": Url(
        {"GET": (302, 403, 403, 404, 200, 200), "POST": (302, 403, 403, 404, 302, 302)},
        args=lambda w: ["safety.adverseevent", w.ae.pk],
        body=lambda w: {"field": "onset_date", "text": "Onset per source?"},
        writes=True,
        setup=with_ae,
    ),
    "queries:thread": Url(
        {"GET": (302, 200, 200, 404, 200, 200)},
        args=lambda w: ["safety.adverseevent", w.ae.pk, "onset_date"],
        setup=with_query,
    ),
    "api:list_queries": Url({"GET": (401, 200, 200, 200, 200, 200)}, api=True, setup=with_query),
    "api:raise_query": Url(
        {"POST": (401, 403, 403, 404, 201, 201)},
        args=subject_args,
        body=query_raise_json,
        api=True,
        writes=True,
        setup=with_ae,
    ),
    "api:get_query": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=query_args, api=True, setup=with_query
    ),
    "api:query_thread": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=query_args, api=True, setup=with_query
    ),
    "api:query_answer": _query_action("answer", with_query, (401, 200, 200, 404, 403, 403)),
    "api:query_close": _query_action("close", with_answered_query, (401, 403, 403, 404, 200, 200)),
    "api:query_send_back": _query_action(
        "send_back", with_answered_query, (401, 403, 403, 404, 200, 200)
    ),
    "api:query_reopen": _query_action("reopen", with_closed_query, (401, 403, 403, 404, 200, 200)),
    # only its raiser (monitor_a) cancels
    "api:query_cancel": _query_action("cancel", with_query, (401, 403, 403, 404, 200, 403)),
    "api:query_close_confirmed": _query_action(
        "close_confirmed", with_system_query, (401, 403, 403, 404, 200, 200)
    ),
    # --- safety pages ---
    "safety:term_search": Url({"GET": (302, 200, 200, 200, 200, 200)}),
    "safety:term_grades": Url(
        {"GET": (302, 200, 200, 200, 200, 200)}, args=lambda w: [hypertension_pk()]
    ),
    "safety:sae_list": Url({"GET": (302, 200, 200, 200, 200, 200)}, setup=with_sae),
    "safety:sae_submit": Url(
        # the investigator's e-signature: a coordinator prepares the report, never submits it
        {"POST": (302, 403, 302, 404, 403, 403)},
        args=lambda w: [w.report.pk],
        body=lambda w: sae_signature(w, prefix=f"sign-{w.report.pk}-"),
        writes=True,
        setup=with_sae,
    ),
    "safety:sae_draft": Url(
        {"POST": (302, 302, 302, 404, 403, 403)},
        args=lambda w: [w.report.pk],
        body=lambda w: {
            f"draft-{w.report.pk}-version": w.report.version,
            f"draft-{w.report.pk}-narrative": "Admitted for blood pressure control.",
        },
        writes=True,
        setup=with_sae,
    ),
    "safety:ae_list": Url(
        {"GET": (302, 200, 200, 404, 200, 200)}, args=subject_args, setup=with_ae
    ),
    "safety:ae_new": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=ae_form,
        writes=True,
        setup=on_treatment,
    ),
    "safety:ae": Url(
        {"GET": (302, 200, 200, 404, 200, 200), "POST": (302, 302, 302, 404, 403, 403)},
        args=ae_page_args,
        body=lambda w: (
            ae_form(w) | {"version": w.ae.version, "reason": "Verbatim", "verbatim": "High BP"}
        ),
        writes=True,
        setup=with_ae,
    ),
    "safety:causality": Url(
        # only an investigator of the subject's site signs
        {"POST": (302, 403, 302, 404, 403, 403)},
        args=ae_page_args,
        body=lambda w: {"version": w.ae.version, "relationship": "possible", "password": PASSWORD},
        writes=True,
        setup=with_ae,
    ),
    "safety:follow_up": Url(
        {"POST": (302, 302, 302, 404, 403, 403)},
        args=ae_page_args,
        writes=True,
        setup=with_submitted_sae,
    ),
    "safety:sae_pdf": Url(
        {"GET": (302, 200, 200, 404, 200, 200)}, args=ae_page_args, setup=with_sae
    ),
    "safety:labs": Url(
        {"GET": (302, 200, 200, 404, 200, 200), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {"sample_date": w.today.isoformat(), "anc-value": "0.8"},
        writes=True,
        setup=with_ranges,
    ),
    "safety:lab_correct": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=lambda w: [w.subject.pk, w.panel.pk],
        body=panel_correction,
        writes=True,
        setup=with_panel,
    ),
    # --- logs pages (issue 13 log forms) ---
    "logs:con_meds": Url(
        {"GET": (302, 200, 200, 404, 200, 200)}, args=subject_args, setup=with_con_med
    ),
    "logs:con_med_new": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=con_med_form,
        writes=True,
    ),
    "logs:con_med": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=logs_args("con_med"),
        body=lambda w: (
            con_med_form(w) | {"version": w.con_med.version, "reason": "Dose", "dose": "1000"}
        ),
        writes=True,
        setup=with_con_med,
    ),
    "logs:con_med_names": Url(
        {"GET": (302, 200, 200, 404, 200, 200)}, args=subject_args, setup=with_con_med
    ),
    "logs:history": Url(
        {"GET": (302, 200, 200, 404, 200, 200)}, args=subject_args, setup=with_con_med
    ),
    "logs:history_new": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {"condition": "Asthma", "start_date": "2010-01-01", "ongoing": "on"},
        writes=True,
    ),
    "logs:history_item": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=logs_args("history"),
        body=lambda w: {
            "condition": "Hypertension",
            "start_date": "2020-01-01",
            "ongoing": "on",
            "baseline_grade": "1",
            "version": w.history.version,
            "reason": "Graded",
        },
        writes=True,
        setup=with_con_med,
    ),
    "logs:baseline_match": Url(
        {"GET": (302, 200, 200, 404, 200, 200)}, args=subject_args, setup=with_con_med
    ),
    "logs:deviations": Url(
        {"GET": (302, 200, 200, 404, 200, 200)}, args=subject_args, setup=with_con_med
    ),
    "logs:deviation_new": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=deviation_json,
        writes=True,
    ),
    "logs:deviation": Url(
        {"GET": (302, 200, 200, 404, 403, 403), "POST": (302, 302, 302, 404, 403, 403)},
        args=logs_args("deviation"),
        body=lambda w: (
            deviation_json(w)
            | {"version": w.deviation.version, "reason": "Typo", "description": "Dose late."}
        ),
        writes=True,
        setup=with_con_med,
    ),
    "logs:deviation_decide": Url(
        {"POST": (302, 302, 302, 404, 403, 403)},
        args=logs_args("deviation"),
        body=lambda w: {"version": w.deviation.version, "decision": "dismiss", "reason": "Dup"},
        writes=True,
        setup=with_con_med,
    ),
    # --- API (bearer token) ---
    "api:api-root": Url({"GET": (404, 404, 404, 404, 404, 404)}, api=True),
    "api:api-not-found": Url(
        dict.fromkeys(("GET", "POST"), (404, 404, 404, 404, 404, 404)),
        args=lambda w: ["no/such/endpoint"],
        api=True,
    ),
    "api:list_sites": Url({"GET": (401, 200, 200, 200, 200, 200)}, api=True),
    "api:list_subjects": Url({"GET": (401, 200, 200, 200, 200, 200)}, api=True),
    "api:register_subject": Url(
        # site GZ01 is "unknown or not yours" to coordinator_b: 422, not 403
        {"POST": (401, 201, 201, 422, 403, 403)},
        body=lambda w: {**registration(w), "site": "GZ01"},
        api=True,
        writes=True,
    ),
    "api:get_subject": Url({"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True),
    "api:patch_subject": Url(
        {"PATCH": (401, 200, 200, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {"version": w.subject.version, "reason": "Typo", "initials": "ZWM"},
        api=True,
        writes=True,
    ),
    "api:transition": Url(
        {"POST": (401, 200, 200, 404, 403, 403)},
        args=subject_args,
        body=enrolment,
        api=True,
        writes=True,
        setup=signed_for_enrolment,
    ),
    "api:list_visits": Url({"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True),
    "api:patch_visit": Url(
        {"PATCH": (401, 200, 200, 404, 403, 403)},
        args=lambda w: [w.visit.pk],
        body=lambda w: {"version": w.visit.version, "actual_date": w.today.isoformat()},
        api=True,
        writes=True,
    ),
    "api:history": Url({"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True),
    "api:get_screening": Url({"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True),
    "api:put_screening": Url(
        # first save: 201 Created
        {"PUT": (401, 201, 201, 404, 403, 403)},
        args=subject_args,
        body=screening_json,
        api=True,
        writes=True,
    ),
    "api:get_eligibility": Url(
        {"GET": (401, 200, 200, 404, 200, 200)},
        args=subject_args,
        api=True,
        setup=eligible_screening_saved,
    ),
    "api:sign_eligibility": Url(
        # only an investigator of the subject's site signs
        {"POST": (401, 403, 201, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {
            "password": PASSWORD,
            "data_hash": shown_data_hash(w.subject),
            "attested_criteria": list(JUDGEMENT_CRITERIA),  # the investigator attests them
        },
        api=True,
        writes=True,
        setup=eligible_screening_saved,
    ),
    "api:screening_log": Url({"GET": (401, 200, 200, 200, 200, 200)}, api=True),
    "api:dosing_calendar": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True, setup=on_treatment
    ),
    "api:list_dose_modifications": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True, setup=on_treatment
    ),
    "api:add_dose_modification": Url(
        {"POST": (401, 201, 201, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {
            "kind": "interruption",
            "start": w.today.isoformat(),
            "end": (w.today + dt.timedelta(days=1)).isoformat(),
            "reason": "toxicity",
        },
        api=True,
        writes=True,
        setup=on_treatment,
    ),
    "api:list_dispensings": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True, setup=on_treatment
    ),
    "api:add_dispensing": Url(
        {"POST": (401, 201, 201, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {
            "dispensed_on": w.today.isoformat(),
            "strength_mg": 12,
            "lot_number": "A2312",
            "expiry": (w.today + dt.timedelta(days=200)).isoformat(),
            "capsules": 14,
        },
        api=True,
        writes=True,
        setup=on_treatment,
    ),
    "api:record_return": Url(
        {"PATCH": (401, 200, 200, 404, 403, 403)},
        args=lambda w: [w.dispensing.pk],
        body=lambda w: {
            "version": w.dispensing.version,
            "returned_on": w.today.isoformat(),
            "returned": 10,
            "reported_missed": 0,
        },
        api=True,
        writes=True,
        setup=on_treatment,
    ),
    "api:dosing_exposure": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True, setup=on_treatment
    ),
    "api:list_lesions": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True, setup=with_baseline
    ),
    "api:record_baseline": Url(
        {"POST": (401, 201, 201, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {"targets": [lesion_json(w)]},
        api=True,
        writes=True,
        setup=on_treatment,
    ),
    "api:correct_lesion": Url(
        {"PATCH": (401, 200, 200, 404, 403, 403)},
        args=lambda w: [w.lesion.pk],
        body=lambda w: {"version": w.lesion.version, "reason": "re-measured", "location": "S7"},
        api=True,
        writes=True,
        setup=with_baseline,
    ),
    "api:list_timepoints": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True, setup=with_timepoint
    ),
    "api:record_timepoint": Url(
        {"POST": (401, 201, 201, 404, 403, 403)},
        args=subject_args,
        body=timepoint_json,
        api=True,
        writes=True,
        setup=with_baseline,
    ),
    "api:preview_timepoint": Url(
        {"POST": (401, 200, 200, 404, 200, 200)},
        args=subject_args,
        body=timepoint_json,
        api=True,
        setup=with_baseline,
    ),
    "api:correct_timepoint": Url(
        {"PATCH": (401, 200, 200, 404, 403, 403)},
        args=lambda w: [w.timepoint.pk],
        body=lambda w: timepoint_json(w) | {"version": w.timepoint.version, "reason": "T1"},
        api=True,
        writes=True,
        setup=with_timepoint,
    ),
    "api:best_response": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True, setup=with_timepoint
    ),
    # safety
    "api:search_ctcae_terms": Url({"GET": (401, 200, 200, 200, 200, 200)}, api=True),
    "api:grade_value": Url(
        # a calculator: stores nothing, open to every member
        {"POST": (401, 200, 200, 200, 200, 200)},
        body=lambda w: {"analyte": "anc", "value": "0.8", "unit": "10^9/L", "lln": "1.8"},
        api=True,
    ),
    "api:list_adverse_events": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True, setup=with_ae
    ),
    "api:record_adverse_event": Url(
        {"POST": (401, 201, 201, 404, 403, 403)},
        args=subject_args,
        body=ae_json,
        api=True,
        writes=True,
        setup=on_treatment,
    ),
    "api:get_adverse_event": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=ae_args, api=True, setup=with_ae
    ),
    "api:update_adverse_event": Url(
        {"PATCH": (401, 200, 200, 404, 403, 403)},
        args=ae_args,
        body=lambda w: {"version": w.ae.version, "reason": "Verbatim", "verbatim": "High BP"},
        api=True,
        writes=True,
        setup=with_ae,
    ),
    "api:sign_causality": Url(
        # only an investigator of the subject's site signs
        {"POST": (401, 403, 200, 404, 403, 403)},
        args=ae_args,
        body=lambda w: {"version": w.ae.version, "relationship": "possible", "password": PASSWORD},
        api=True,
        writes=True,
        setup=with_ae,
    ),
    "api:list_sae_reports": Url({"GET": (401, 200, 200, 200, 200, 200)}, api=True, setup=with_sae),
    "api:submit_sae_report": Url(
        # the investigator's e-signature: a coordinator prepares the report, never submits it
        {"POST": (401, 403, 200, 404, 403, 403)},
        args=lambda w: [w.report.pk],
        body=sae_signature,
        api=True,
        writes=True,
        setup=with_sae,
    ),
    "api:draft_sae_report": Url(
        {"PUT": (401, 200, 200, 404, 403, 403)},
        args=lambda w: [w.report.pk],
        body=lambda w: {"version": w.report.version, "narrative": "Admitted."},
        api=True,
        writes=True,
        setup=with_sae,
    ),
    "api:add_sae_follow_up": Url(
        {"POST": (401, 201, 201, 404, 403, 403)},
        args=ae_args,
        api=True,
        writes=True,
        setup=with_submitted_sae,
    ),
    "api:list_lab_panels": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True, setup=on_treatment
    ),
    "api:correct_lab_panel": Url(
        {"PUT": (401, 200, 200, 404, 403, 403)},
        args=lambda w: [w.panel.pk],
        body=lambda w: panel_correction(w, api=True),
        api=True,
        writes=True,
        setup=with_panel,
    ),
    "api:record_lab_panel": Url(
        {"POST": (401, 201, 201, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {
            "sample_date": w.today.isoformat(),
            "values": {"anc": {"value": "0.8", "unit": "10^9/L"}},
        },
        api=True,
        writes=True,
        setup=on_treatment,
    ),
    # logs (issue 13 log forms)
    "api:list_con_meds": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True, setup=with_con_med
    ),
    "api:record_con_med": Url(
        {"POST": (401, 201, 201, 404, 403, 403)},
        args=subject_args,
        body=con_med_json,
        api=True,
        writes=True,
    ),
    "api:correct_con_med": Url(
        {"PATCH": (401, 200, 200, 404, 403, 403)},
        args=lambda w: [w.con_med.pk],
        body=lambda w: {"version": w.con_med.version, "reason": "Dose", "dose": "1000"},
        api=True,
        writes=True,
        setup=with_con_med,
    ),
    "api:list_medical_history": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True, setup=with_con_med
    ),
    "api:record_medical_history": Url(
        {"POST": (401, 201, 201, 404, 403, 403)},
        args=subject_args,
        body=history_json,
        api=True,
        writes=True,
    ),
    "api:correct_medical_history": Url(
        {"PATCH": (401, 200, 200, 404, 403, 403)},
        args=lambda w: [w.history.pk],
        body=lambda w: {"version": w.history.version, "reason": "Graded", "baseline_grade": 1},
        api=True,
        writes=True,
        setup=with_con_med,
    ),
    "api:list_deviations": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True, setup=with_con_med
    ),
    "api:record_deviation": Url(
        {"POST": (401, 201, 201, 404, 403, 403)},
        args=subject_args,
        body=deviation_json,
        api=True,
        writes=True,
    ),
    "api:correct_deviation": Url(
        {"PATCH": (401, 200, 200, 404, 403, 403)},
        args=lambda w: [w.deviation.pk],
        body=lambda w: {"version": w.deviation.version, "reason": "Typo", "description": "Late."},
        api=True,
        writes=True,
        setup=with_con_med,
    ),
    "api:decide_deviation": Url(
        {"POST": (401, 200, 200, 404, 403, 403)},
        args=lambda w: [w.deviation.pk],
        body=lambda w: {"version": w.deviation.version, "decision": "dismiss", "reason": "Dup"},
        api=True,
        writes=True,
        setup=with_con_med,
    ),
    # --- outcomes (pages) ---
    "outcomes:end_of_treatment": Url(
        {"GET": (302, 200, 200, 404, 200, 200), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=eot_form,
        writes=True,
        setup=on_treatment,
    ),
    "outcomes:death": Url(
        {"GET": (302, 200, 200, 404, 200, 200), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=death_form,
        writes=True,
        setup=on_treatment,
    ),
    "outcomes:survival_follow_up": Url(
        {"GET": (302, 200, 200, 404, 200, 200), "POST": (302, 302, 302, 404, 403, 403)},
        args=surv_args,
        body=follow_up_form,
        writes=True,
        setup=with_eot,
    ),
    "outcomes:withdrawals": Url(
        {"GET": (302, 200, 200, 404, 200, 200), "POST": (302, 302, 302, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {"withdrawal_date": w.today.isoformat(), "scope": "all_follow_up"},
        writes=True,
        setup=with_withdrawal,
    ),
    "outcomes:withdrawal": Url(
        {"GET": (302, 200, 200, 404, 200, 200), "POST": (302, 302, 302, 404, 403, 403)},
        args=lambda w: [w.subject.pk, w.withdrawal.pk],
        body=lambda w: {
            "withdrawal_date": w.today.isoformat(),
            "scope": "treatment_only",
            "version": w.withdrawal.version,
            "reason": "Date checked on the signed form",
        },
        writes=True,
        setup=with_withdrawal,
    ),
    # --- outcomes (API) ---
    "api:get_end_of_treatment": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True, setup=with_eot
    ),
    "api:record_end_of_treatment": Url(
        {"POST": (401, 201, 201, 404, 403, 403)},
        args=subject_args,
        body=eot_form,
        api=True,
        writes=True,
        setup=on_treatment,
    ),
    "api:correct_end_of_treatment": Url(
        {"PATCH": (401, 200, 200, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {
            "version": w.eot.version,
            "reason": "Misread",
            "stop_reason": "other",
            "reason_other": "Moved abroad",
        },
        api=True,
        writes=True,
        setup=with_eot,
    ),
    "api:get_death": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True, setup=with_death
    ),
    "api:record_death": Url(
        {"POST": (401, 201, 201, 404, 403, 403)},
        args=subject_args,
        body=death_form,
        api=True,
        writes=True,
        setup=on_treatment,
    ),
    "api:correct_death": Url(
        {"PATCH": (401, 200, 200, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {"version": w.death.version, "reason": "Report received", "autopsy": "yes"},
        api=True,
        writes=True,
        setup=with_death,
    ),
    "api:get_survival": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True, setup=with_eot
    ),
    "api:get_survival_follow_up": Url(
        {"GET": (401, 200, 200, 404, 200, 200)},
        args=lambda w: [w.surv.pk],
        api=True,
        setup=with_follow_up,
    ),
    "api:record_survival_follow_up": Url(
        {"POST": (401, 201, 201, 404, 403, 403)},
        args=lambda w: [w.surv.pk],
        body=follow_up_json,
        api=True,
        writes=True,
        setup=with_eot,
    ),
    "api:correct_survival_follow_up": Url(
        {"PATCH": (401, 200, 200, 404, 403, 403)},
        args=lambda w: [w.surv.pk],
        body=lambda w: {"version": w.follow_up.version, "reason": "Misheard", "mode": "other"},
        api=True,
        writes=True,
        setup=with_follow_up,
    ),
    "api:list_withdrawals": Url(
        {"GET": (401, 200, 200, 404, 200, 200)},
        args=subject_args,
        api=True,
        setup=with_withdrawal,
    ),
    "api:record_withdrawal": Url(
        {"POST": (401, 201, 201, 404, 403, 403)},
        args=subject_args,
        body=lambda w: {"withdrawal_date": w.today.isoformat(), "scope": "all_follow_up"},
        api=True,
        writes=True,
        setup=with_withdrawal,
    ),
    "api:get_withdrawal": Url(
        {"GET": (401, 200, 200, 404, 200, 200)},
        args=lambda w: [w.withdrawal.pk],
        api=True,
        setup=with_withdrawal,
    ),
    "api:correct_withdrawal": Url(
        {"PATCH": (401, 200, 200, 404, 403, 403)},
        args=lambda w: [w.withdrawal.pk],
        body=lambda w: {
            "version": w.withdrawal.version,
            "reason": "Checked",
            "scope": "treatment_only",
        },
        api=True,
        writes=True,
        setup=with_withdrawal,
    ),
}


# --- monitoring (issue 14) -------------------------------------------------------------------


def visit_record_args(w):
    """A form of the subject the monitoring pages act on: its screening visit row."""
    return [w.subject.pk, "subjects.visit", w.visit.pk]


def subject_frozen(w):
    from monitoring.services import place_hold

    dm = member("dm_setup", Role.DATA_MANAGER, None)
    w.hold = place_hold(by=dm, kind="freeze", level="subject", reason="SDV", subject=w.subject)


def visit_verified(w):
    from monitoring.services import verify

    dm = member("dm_setup", Role.DATA_MANAGER, None)
    verify(by=dm, record=w.visit, fields=[""])


def casebook_signing_body(w):
    from accounts.signatures import content_hash
    from monitoring.services import signed_content

    shown = content_hash(signed_content("casebook", subject=w.subject))
    return {"password": PASSWORD, "shown_hash": shown}


def visit_signing_body(w):
    from accounts.signatures import content_hash
    from monitoring.services import signed_content

    shown = content_hash(signed_content("visit", subject=w.subject, visit=w.visit))
    return {"password": PASSWORD, "shown_hash": shown}


def crf_signing_body(w):
    from accounts.signatures import content_hash
    from monitoring.services import signed_content

    shown = content_hash(signed_content("crf", subject=w.subject, record=w.visit))
    return {"password": PASSWORD, "shown_hash": shown}


MONITORING_ACCESS = {
    "monitoring:subject": Url({"GET": (302, 200, 200, 404, 200, 200)}, args=subject_args),
    "monitoring:record": Url({"GET": (302, 200, 200, 404, 200, 200)}, args=visit_record_args),
    "monitoring:sdv_action": Url(
        {"POST": (302, 403, 403, 404, 302, 302)},
        args=visit_record_args,
        body=lambda w: {"action": "verify_all"},
        writes=True,
    ),
    "monitoring:hold": Url(
        {"POST": (302, 403, 403, 404, 302, 302)},
        args=subject_args,
        body=lambda w: {"kind": "freeze", "level": "subject", "reason": "SDV visit"},
        writes=True,
    ),
    "monitoring:study_hold": Url(
        {"POST": (302, 403, 403, 403, 403, 302)},
        body=lambda w: {"kind": "lock", "level": "study", "reason": "Database lock"},
        writes=True,
    ),
    "monitoring:lift": Url(
        {"GET": (302, 200, 200, 404, 200, 200), "POST": (302, 403, 403, 404, 302, 302)},
        args=lambda w: [w.hold.pk],
        body=lambda w: {"reason": "SDV done"},
        writes=True,
        setup=subject_frozen,
    ),
    "monitoring:sign_visit": Url(
        # the screening visit's forms are not complete: the investigator is refused (422)
        {"GET": (302, 200, 200, 404, 200, 200), "POST": (302, 403, 422, 404, 403, 403)},
        args=visit_args,
        body=visit_signing_body,
        writes=True,
    ),
    "monitoring:sign_casebook": Url(
        # no visit held yet: nothing incomplete, the investigator signs
        {"GET": (302, 200, 200, 404, 200, 200), "POST": (302, 403, 302, 404, 403, 403)},
        args=subject_args,
        body=casebook_signing_body,
        writes=True,
    ),
    "monitoring:worklist": Url(
        {"GET": (302, 200, 200, 200, 200, 200), "POST": (302, 403, 403, 404, 302, 302)},
        body=lambda w: {"record": f"subjects.visit:{w.visit.pk}"},
        writes=True,
    ),
    "monitoring:dropped": Url({"GET": (302, 200, 200, 200, 200, 200)}),
    "monitoring:sdv_log": Url({"GET": (302, 200, 200, 200, 200, 200)}),
    "monitoring:matrix": Url({"GET": (302, 200, 200, 200, 200, 200)}),
    "monitoring:study": Url({"GET": (302, 403, 403, 403, 403, 200)}),
    "monitoring:bulk_sign": Url(
        {"GET": (302, 403, 200, 403, 403, 403), "POST": (302, 403, 302, 403, 403, 403)},
        body=lambda w: {"password": PASSWORD},
    ),
    "api:sdv_verify": Url(
        {"POST": (401, 403, 403, 422, 200, 200)},
        body=lambda w: {"record_type": "subjects.visit", "record_id": w.visit.pk},
        api=True,
        writes=True,
    ),
    "api:sdv_unverify": Url(
        {"POST": (401, 403, 403, 422, 200, 200)},
        body=lambda w: {
            "record_type": "subjects.visit",
            "record_id": w.visit.pk,
            "comment": "wrong chart",
        },
        api=True,
        writes=True,
        setup=visit_verified,
    ),
    "api:sdv_worklist": Url({"GET": (401, 200, 200, 200, 200, 200)}, api=True),
    "api:hold_place": Url(
        {"POST": (401, 403, 403, 422, 201, 201)},
        body=lambda w: {
            "kind": "freeze",
            "level": "subject",
            "subject_id": w.subject.pk,
            "reason": "SDV visit",
        },
        api=True,
        writes=True,
    ),
    "api:hold_lift": Url(
        {"POST": (401, 403, 403, 404, 200, 200)},
        args=lambda w: [w.hold.pk],
        body=lambda w: {"reason": "SDV done"},
        api=True,
        writes=True,
        setup=subject_frozen,
    ),
    "api:subject_holds": Url({"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True),
    "api:visit_signing": Url(
        {"GET": (401, 200, 200, 404, 200, 200)},
        args=lambda w: [w.subject.pk, w.visit.pk],
        api=True,
    ),
    "api:visit_sign": Url(
        {"POST": (401, 403, 422, 404, 403, 403)},
        args=lambda w: [w.subject.pk, w.visit.pk],
        body=visit_signing_body,
        api=True,
        writes=True,
    ),
    "api:casebook_signing": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True
    ),
    "api:casebook_sign": Url(
        {"POST": (401, 403, 201, 404, 403, 403)},
        args=subject_args,
        body=casebook_signing_body,
        api=True,
        writes=True,
    ),
    "api:subject_signatures": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True
    ),
    "api:subject_matrix": Url({"GET": (401, 200, 200, 200, 200, 200)}, api=True),
    "monitoring:sign_record": Url(
        # a form signed on its own (its screening visit row): the investigator only
        {"POST": (302, 403, 302, 404, 403, 403)},
        args=visit_record_args,
        body=crf_signing_body,
        writes=True,
    ),
    "api:crf_signing": Url(
        {"GET": (401, 200, 200, 404, 200, 200)}, args=visit_record_args, api=True
    ),
    "api:crf_sign": Url(
        {"POST": (401, 403, 201, 404, 403, 403)},
        args=visit_record_args,
        body=crf_signing_body,
        api=True,
        writes=True,
    ),
}
ACCESS.update(MONITORING_ACCESS)


def export_made(w):
    """A CSV export of site A asked for by site A's coordinator, its file made."""
    from django.contrib.auth import get_user_model

    from exports import services

    coordinator = get_user_model().objects.get(username="coord_a")
    job, _created = services.start_export(user=coordinator, kind="csv", site_id=w.site_a.pk)
    w.job = services.run_job(job.pk)


def job_args(w):
    return [w.job.pk]


# issue 15: a job is seen by who asked for it and by data managers; starting one for site A is
# refused to site B's coordinator (not offered: 422 by the field / "not_found")
EXPORTS_ACCESS = {
    "exports:list": Url(
        {"GET": (302, 200, 200, 200, 200, 200), "POST": (302, 302, 302, 422, 302, 302)},
        body=lambda w: {"kind": "csv", "site": w.site_a.pk},
    ),
    "exports:job": Url({"GET": (302, 200, 404, 404, 404, 200)}, args=job_args, setup=export_made),
    "exports:progress": Url(
        {"GET": (302, 200, 404, 404, 404, 200)}, args=job_args, setup=export_made
    ),
    "exports:download": Url(
        {"GET": (302, 200, 404, 404, 404, 200)}, args=job_args, setup=export_made
    ),
    "api:export_start": Url(
        {"POST": (401, 201, 201, 422, 201, 201)},
        body=lambda w: {"kind": "csv", "site_id": w.site_a.pk},
        api=True,
    ),
    "api:export_list": Url({"GET": (401, 200, 200, 200, 200, 200)}, api=True),
    "api:export_status": Url(
        {"GET": (401, 200, 404, 404, 404, 200)}, args=job_args, api=True, setup=export_made
    ),
    "api:export_download": Url(
        {"GET": (401, 200, 404, 404, 404, 200)}, args=job_args, api=True, setup=export_made
    ),
}
ACCESS.update(EXPORTS_ACCESS)
# PDFs (issue 15 section 1): a form or a casebook for whoever may view the subject (another
# site's: 404); the blank and annotated CRF books hold no clinical data.
EXPORTS_PDF_ACCESS = {
    "exports_pdf:crf": Url(
        {"GET": (302, 200, 200, 404, 200, 200)},
        args=lambda w: ["screening", w.subject.screening.pk],
        setup=eligible_screening_saved,
    ),
    "exports_pdf:casebook": Url({"GET": (302, 200, 200, 404, 200, 200)}, args=subject_args),
    "api:crf_pdf": Url(
        {"GET": (401, 200, 200, 404, 200, 200)},
        args=lambda w: ["screening", w.subject.screening.pk],
        setup=eligible_screening_saved,
        api=True,
    ),
    "api:casebook_pdf": Url({"GET": (401, 200, 200, 404, 200, 200)}, args=subject_args, api=True),
    "exports_pdf:blank_crf": Url({"GET": (302, 200, 200, 200, 200, 200)}),
    "exports_pdf:annotated_crf": Url({"GET": (302, 200, 200, 200, 200, 200)}),
}
ACCESS.update(EXPORTS_PDF_ACCESS)

# One case per (URL, method, member). Cases whose URL needs the same data are run one after
# the other, so that data is built once per group (see ``Study``), not once per case.
SETUPS = list(dict.fromkeys(url.setup for url in ACCESS.values()))
CASES = sorted(
    (
        pytest.param(name, method, member, status, id=f"{name}-{method}-{member}")
        for name, url in ACCESS.items()
        for method, statuses in url.expect.items()
        for member, status in zip(MEMBERS, statuses, strict=True)
    ),
    key=lambda case: SETUPS.index(ACCESS[case.values[0]].setup),
)


def stored_clinical_data():
    """Everything a write could change: subjects, visits, CRFs, signatures, reference ranges,
    data queries and their threads."""
    subjects = list(Subject.objects.order_by("pk").values_list("pk", "version", "status"))
    visits = list(Visit.objects.order_by("pk").values_list("pk", "version", "actual_date"))
    screenings = list(Screening.objects.order_by("pk").values_list("pk", "version"))
    signatures = list(EligibilitySignature.objects.order_by("pk").values_list("pk", "voided_at"))
    dosing = list(DoseEvent.objects.values_list("pk")) + list(
        Dispensing.objects.order_by("pk").values_list("pk", "version")
    )
    tumour = list(Lesion.objects.order_by("pk").values_list("pk", "version")) + list(
        Timepoint.objects.order_by("pk").values_list("pk", "version")
    )
    safety = (
        list(AdverseEvent.objects.order_by("pk").values_list("pk", "version"))
        + list(SaeReport.objects.order_by("pk").values_list("pk", "version"))
        + list(LabPanel.objects.order_by("pk").values_list("pk", "version"))
    )
    reference_ranges = list(ReferenceRange.objects.order_by("pk").values_list("pk", "version"))
    from crfs.registry import OWN_MODELS, m

    crfs = [
        list(model.objects.order_by("pk").values_list("pk", "version"))
        for model in (*OWN_MODELS, m.Review)
    ]
    logs = [
        list(model.objects.order_by("pk").values_list("pk", "version"))
        for model in (ConMed, MedicalHistory, Deviation)
    ]
    outcomes = [
        list(model.objects.order_by("pk").values_list("pk", "version"))
        for model in (EndOfTreatment, Death, SurvivalFollowUp, Withdrawal)
    ]
    from monitoring.models import Hold, SdvMark, Signature
    from queries.models import Query, QueryMessage

    monitoring = [
        list(model.objects.order_by("pk").values_list("pk", "version"))
        for model in (Hold, SdvMark, Signature)
    ]
    queries = list(Query.objects.order_by("pk").values_list("pk", "version", "status")) + list(
        QueryMessage.objects.order_by("pk").values_list("pk")
    )
    return (
        monitoring,
        queries,
        subjects,
        visits,
        screenings,
        signatures,
        dosing,
        tumour,
        safety,
        reference_ranges,
        crfs,
        logs,
        outcomes,
    )


def send(client, method, path, body, *, api, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "GET":
        return client.get(path, headers=headers)
    if api:
        return client.generic(
            method, path, data=json.dumps(body), content_type="application/json", headers=headers
        )
    return client.post(path, body, headers=headers)


class Study:
    """The study every case starts from, built once: the two sites, the cast and subject ZWL
    of site A (as tests/conftest.py makes them), kept in a transaction that is rolled back
    when the cases are done. On top of it, in a savepoint, the data one URL needs (its
    ``setup``), built once for all the cases of the URLs that share it. Each case then runs
    in a savepoint of its own that is rolled back (pytest-django's ``db``): what a case
    writes is gone before the next one starts, whatever the order."""

    def __init__(self):
        if not CtcaeTerm.objects.exists():  # a browser test's flush empties the dictionary
            load_ctcae()
        self.site_a = SiteFactory(
            code="GZ01", name="Guangzhou Cancer Center", time_zone="Asia/Shanghai"
        )
        site_b = SiteFactory(code="SH02", name="Shanghai Cancer Center", time_zone="Asia/Shanghai")
        self.users = {
            "coordinator_a": member("coord_a", Role.COORDINATOR, self.site_a),
            "investigator_a": member("inv_a", Role.INVESTIGATOR, self.site_a),
            "coordinator_b": member("coord_b", Role.COORDINATOR, site_b),
            "monitor_a": member("monitor_a", Role.MONITOR, self.site_a),
            "data_manager": member("dm", Role.DATA_MANAGER, None),
        }
        self.subject = make_subject(self.site_a, self.users["coordinator_a"], initials="ZWL")
        self.layer = None  # (setup, its savepoint, the world it made)

    def world_for(self, setup) -> SimpleNamespace:
        """A world with ``setup``'s data: the current layer, or a new one in its place."""
        if self.layer is None or self.layer[0] is not setup:
            self.drop_layer()
            savepoint = transaction.atomic()
            savepoint.__enter__()
            world = SimpleNamespace(
                site_a=self.site_a,
                subject=Subject.objects.get(pk=self.subject.pk),
                visit=self.subject.visits.get(code="SCR"),
                today=self.site_a.today(),
            )
            try:
                setup(world)
            except BaseException as exc:
                savepoint.__exit__(type(exc), exc, exc.__traceback__)  # rolls back
                raise
            self.layer = (setup, savepoint, world)
        return self.layer[2]

    def drop_layer(self):
        if self.layer is not None:
            savepoint, self.layer = self.layer[1], None
            transaction.set_rollback(True)
            savepoint.__exit__(None, None, None)


def fresh(world: SimpleNamespace) -> SimpleNamespace:
    """The case's own copy of the world, every record read again from the database."""
    return SimpleNamespace(
        **{
            key: type(value)._default_manager.get(pk=value.pk)
            if isinstance(value, Model)
            else value
            for key, value in vars(world).items()
        }
    )


@pytest.fixture(scope="class")
def study(django_db_setup, django_db_blocker):
    """The study, built once for the class's cases and rolled back after the last one."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            study = Study()
        except BaseException as exc:
            outer.__exit__(type(exc), exc, exc.__traceback__)
            raise
    yield study
    with django_db_blocker.unblock():
        study.drop_layer()
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


class TestEveryUrl:
    @pytest.fixture
    def world(self, request, study, django_db_blocker, name):
        """The URL's data (built once per group), then the case's own transaction."""
        with django_db_blocker.unblock():
            world = study.world_for(ACCESS[name].setup)
        request.getfixturevalue("db")  # after the layer: the case's savepoint is inside it
        return fresh(world)

    @pytest.mark.parametrize(("name", "method", "member", "expected"), CASES)
    def test_role_and_site_decide_the_answer_of_every_url(
        self, client, study, world, name, method, member, expected
    ):
        url = ACCESS[name]
        path = reverse(name, args=url.args(world))
        user = study.users.get(member)
        token = None
        if user is not None and url.api:
            token = ApiToken.issue(user)[1]
        elif user is not None:
            client.force_login(user)
        write = url.writes and method != "GET"
        before = stored_clinical_data() if write else None

        response = send(client, method, path, url.body(world), api=url.api, token=token)

        assert response.status_code == expected, (
            f"{member} {method} {path}: {response.status_code}, expected {expected}"
        )
        if member == "anonymous" and expected == 302 and name != "logout":
            assert response.url.startswith(reverse("login") + "?next=")
        if write:
            succeeded = member != "anonymous" and expected in ((200, 201) if url.api else (302,))
            changed = stored_clinical_data() != before
            assert changed == succeeded, f"{member} {method} {path} changed data: {changed}"


def named_urls(resolver=None, namespace=""):
    """(full name, pattern) of every URL the project serves, walking includes recursively."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(n for n in (namespace, pattern.namespace) if n)
            yield from named_urls(pattern, inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield name, f"{namespace}|{pattern.pattern}"


def test_every_url_is_in_the_access_table():
    served = [
        (name, where)
        for name, where in named_urls()
        if where.split("|")[0].split(":")[0] not in NOT_IN_TABLE_NAMESPACES
    ]
    unnamed = [where for name, where in served if not name]
    names = {name for name, _ in served if name}
    missing = sorted(names - set(ACCESS) - NOT_IN_TABLE)
    stale = sorted(set(ACCESS) - names)
    assert not unnamed, f"Name these URLs and add them to ACCESS: {unnamed}"
    assert not missing, f"URLs without a row in ACCESS (who may open them?): {missing}"
    assert not stale, f"ACCESS rows for URLs that no longer exist: {stale}"


def test_visit_of_another_subject_is_404(client, coordinator_a, subject_a, subject_b):
    client.force_login(coordinator_a)
    visit_b = subject_b.visits.get(code="SCR")
    response = client.get(reverse("subjects:visit", args=[subject_a.pk, visit_b.pk]))
    assert response.status_code == 404


def test_data_manager_lists_subjects_of_both_sites(client, data_manager, subject_a, subject_b):
    client.force_login(data_manager)
    page = client.get(reverse("subjects:list")).content.decode()
    assert subject_a.screening_number in page
    assert subject_b.screening_number in page


def test_coordinator_lists_only_their_own_sites_subjects(
    client, coordinator_b, subject_a, subject_b
):
    client.force_login(coordinator_b)
    page = client.get(reverse("subjects:list")).content.decode()
    assert subject_b.screening_number in page
    assert subject_a.screening_number not in page
    home = client.get(reverse("home")).content.decode()
    assert subject_a.screening_number not in home
