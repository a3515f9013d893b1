"""The datasets of the study, in casebook order (issue 15 §2): a table per CRF and workflow
record, and three derived listings computed by the trial's pure rules (eligibility per criterion
by ``eligibility.rules``, exposure by ``dosing.exposure``, best overall response by
``assessments.recist``). ``exports.metadata`` describes them; CSV, ODM and the PDFs read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.utils.translation import gettext_lazy as _

from alter_s006 import protocol as P
from exports.metadata import (
    DATE,
    DATETIME,
    FLOAT,
    INTEGER,
    TEXT,
    CodeList,
    Column,
    Dataset,
    key_columns,
    table,
)

RECIST = "RECIST 1.1 (Eisenhauer 2009), computed by assessments.recist"
CTCAE = "CTCAE v4.03, computed by safety.grading"

CRF_UNITS = {
    "vitalsigns": {
        "systolic": "mm Hg",
        "diastolic": "mm Hg",
        "heart_rate": "/min",
        "temperature": "°C",
        "weight": "kg",
        "height": "cm",
        "bsa": "m²",
    },
    "ecg": {"qt": "ms", "rr": "ms", "heart_rate": "/min", "qtcf": "ms"},
    "urinalysis": {"protein_24h": "g/24 h"},
    "thyroidfunction": {"tsh": "mIU/L", "ft4": "pmol/L"},
}

CRF_DERIVED = {
    "vitalsigns": {
        "bsa": "Body surface area, Mosteller: sqrt(height cm × weight kg / 3600) (crfs.derived)",
        "hypertension_grade": f"Hypertension grade from systolic / diastolic, {CTCAE}",
        "fever_grade": f"Fever grade from temperature, {CTCAE}",
        "weight_term": "Weight gain / weight loss against baseline (crfs.derived)",
        "weight_grade": f"Weight gain / loss grade from % change against baseline, {CTCAE}",
        "weight_note": "Why the weight grade could not be derived (crfs.derived)",
    },
    "ecg": {
        "qtcf": "QTcF = QT / (RR/1000)^(1/3), Fridericia (crfs.derived)",
        "qtc_grade": f"QT corrected interval prolonged grade from QTcF, {CTCAE}",
        "qtc_note": "Why the QTc grade could not be derived (crfs.derived)",
    },
    "urinalysis": {
        "proteinuria_grade": f"Proteinuria grade, {CTCAE}",
        "proteinuria_note": "Why the proteinuria grade could not be derived (crfs.derived)",
    },
    "thyroidfunction": {"hypothyroidism_flag": "TSH above range flagged (crfs.derived)"},
}

TIMEPOINT_DERIVED = {
    "sum_mm": f"Sum of the target lesions' diameters (short axis for nodes), {RECIST}",
    "change_from_baseline_pct": f"(sum − baseline sum) / baseline sum × 100, {RECIST}",
    "nadir_mm": f"Smallest sum on study, baseline included, {RECIST}",
    "change_from_nadir_pct": f"(sum − nadir) / nadir × 100, {RECIST}",
    "change_from_nadir_mm": f"sum − nadir, {RECIST}",
    "target_response": f"Target lesion response, RECIST 1.1 section 4.3.1, {RECIST}",
    "non_target_response": f"Non-target response, RECIST 1.1 section 4.3.3, {RECIST}",
    "overall_response": f"Overall response, RECIST 1.1 table 1 / table 2, {RECIST}",
    "notes": "Why a response was derived as it was (assessments.recist notes)",
}


def _visit_crf(key, label, model_name, form_key) -> Dataset:
    return table(
        key,
        label,
        f"crfs.{model_name}",
        visit_path="visit",
        crf=True,
        form_keys=(form_key,),
        skip=("subject", "visit"),
        units=CRF_UNITS.get(model_name),
        derived=CRF_DERIVED.get(model_name),
    )


def build() -> list[Dataset]:
    """Every dataset in the order a casebook reads: who, eligibility, visits, treatment,
    tumour, safety, outcome, then the monitors' and the audit trail's records."""
    return [
        table(
            "subjects",
            _("Subjects and demographics"),
            "subjects.subject",
            subject_path="",
            crf=True,
            form_keys=("demographics",),
            skip=("screening_number", "subject_number", "initials", "date_of_birth"),
            order_by=("site__code", "screening_number"),
            description="Initials and the full date of birth are not exported (identifying).",
        ),
        table(
            "screening",
            _("Screening CRF (eligibility data)"),
            "eligibility.screening",
            crf=True,
            form_keys=("screening_crf",),
        ),
        eligibility_results(),
        table(
            "eligibility_signatures",
            _("Eligibility sign-off"),
            "eligibility.eligibilitysignature",
            form_keys=("eligibility_signature",),
        ),
        table(
            "visits",
            _("Visits"),
            "subjects.visit",
            order_by=("subject__site__code", "subject__screening_number", "target_date", "pk"),
        ),
        _visit_crf("vital_signs", _("Vital signs"), "vitalsigns", "vital_signs"),
        _visit_crf("ecog", _("ECOG performance status"), "ecog", "ecog"),
        _visit_crf("physical_exam", _("Physical examination"), "physicalexam", "physical_exam"),
        _visit_crf("ecg", _("12-lead ECG"), "ecg", "ecg"),
        _visit_crf("urinalysis", _("Urinalysis"), "urinalysis", "urinalysis"),
        _visit_crf(
            "thyroid_function", _("Thyroid function"), "thyroidfunction", "thyroid_function"
        ),
        table(
            "reviews",
            _("Visit reviews (con-meds, AEs, history, AE outcomes)"),
            "crfs.review",
            visit_path="visit",
            crf=True,
            form_keys=(
                "con_med_review",
                "ae_review",
                "medical_history_review",
                "ae_outcome_review",
            ),
        ),
        table("dose_events", _("Dosing events"), "dosing.doseevent", crf=True),
        table(
            "dispensing",
            _("Dispensing and returns"),
            "dosing.dispensing",
            crf=True,
            form_keys=("dispensing",),
        ),
        exposure_listing(),
        table(
            "lesions",
            _("Baseline tumour assessment: lesions"),
            "assessments.lesion",
            crf=True,
            form_keys=("baseline_tumour",),
        ),
        table(
            "timepoints",
            _("RECIST 1.1 timepoints"),
            "assessments.timepoint",
            visit_path="visit",
            crf=True,
            form_keys=("recist_timepoint",),
            derived=TIMEPOINT_DERIVED,
            order_by=("subject__site__code", "subject__screening_number", "scan_date", "pk"),
        ),
        table(
            "lesion_measurements",
            _("Lesion measurements"),
            "assessments.lesionmeasurement",
            subject_path="timepoint__subject",
            crf=True,
        ),
        best_response_listing(),
        table(
            "adverse_events",
            _("Adverse events"),
            "safety.adverseevent",
            crf=True,
            derived={"out_of_window": "Onset outside the AE reporting window (safety.grading)"},
        ),
        table(
            "ae_grade_history",
            _("Adverse event grade history"),
            "safety.gradechange",
            subject_path="ae__subject",
            crf=True,
        ),
        table("sae_reports", _("SAE reports"), "safety.saereport", subject_path="ae__subject"),
        table(
            "lab_panels",
            _("Lab panels"),
            "safety.labpanel",
            visit_path="visit",
            crf=True,
            form_keys=("lab_panel",),
        ),
        table(
            "lab_values",
            _("Lab values with CTCAE grades"),
            "safety.labresult",
            subject_path="panel__subject",
            visit_path="panel__visit",
            crf=True,
            derived={
                "grade": f"CTCAE grade of the value against its reference range, {CTCAE}",
                "term": f"The CTCAE term the analyte is graded by, {CTCAE}",
                "definition": f"The CTCAE definition of that grade, {CTCAE}",
                "note": f"Why the value could not be graded, {CTCAE}",
            },
        ),
        table("medical_history", _("Medical history"), "logs.medicalhistory", crf=True),
        table(
            "con_meds",
            _("Concomitant medications"),
            "logs.conmed",
            crf=True,
            derived={
                "flag_class": "Prohibited or cautioned class the medication matched "
                "(logs.prohibited; PROTOCOL.md concomitant medications)",
                "flag_name": "The listed medication it matched (logs.prohibited)",
            },
        ),
        table("deviations", _("Protocol deviations"), "logs.deviation"),
        table(
            "end_of_treatment",
            _("End of treatment"),
            "outcomes.endoftreatment",
            visit_path="visit",
            crf=True,
            form_keys=("end_of_treatment",),
        ),
        table(
            "survival_follow_up",
            _("Survival follow-up"),
            "outcomes.survivalfollowup",
            visit_path="visit",
            crf=True,
            form_keys=("survival_follow_up",),
        ),
        table(
            "subsequent_therapy",
            _("Subsequent anticancer therapy"),
            "outcomes.subsequenttherapy",
            subject_path="follow_up__subject",
            crf=True,
        ),
        table("deaths", _("Death"), "outcomes.death", crf=True),
        table("withdrawals", _("Withdrawal"), "outcomes.withdrawal", crf=True),
        table("queries", _("Data queries"), "queries.query"),
        table(
            "query_messages",
            _("Query threads"),
            "queries.querymessage",
            subject_path="query__subject",
        ),
        table("sdv", _("Source-data verification"), "monitoring.sdvmark"),
        table("signatures", _("Signatures (CRF, visit, casebook)"), "monitoring.signature"),
        table("holds", _("Freezes and locks"), "monitoring.hold"),
        audit_trail(),
    ]


# --- derived listings ----------------------------------------------------------------------


def _subjects(subject_ids: Iterable[int] | None, *related: str):
    """Subjects (with site) in the export's order."""
    from subjects.models import Subject

    qs = Subject.objects.select_related("site", *related).order_by("site__code", "screening_number")
    if subject_ids is not None:
        from alter_s006.sql import id_array

        qs = qs.filter(pk__in=id_array(list(subject_ids)))
    return qs


def _chunks(qs, size: int = 500):
    """A queryset in lists of ``size`` (each list's related rows are then read in one query
    per table: a derived listing costs a few queries per 500 subjects, not per subject)."""
    chunk = []
    for row in qs.iterator(chunk_size=size):
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _treated_chunks(subject_ids):
    """(subjects, their ids) of the treated subjects (a C1D1), 500 at a time."""
    treated = _subjects(subject_ids).filter(c1d1_date__isnull=False)
    for chunk in _chunks(treated):
        yield chunk, [s.pk for s in chunk]


def _grouped(qs, key: str) -> dict[int, list]:
    out: dict[int, list] = {}
    for row in qs:
        out.setdefault(getattr(row, key), []).append(row)
    return out


def _keys(subject) -> tuple:
    return (subject.site.code, subject.screening_number, subject.subject_number)


STATUS = CodeList(
    "criterion_status",
    (
        ("met", "met"),
        ("not_met", "not met"),
        ("not_evaluable", "not evaluable"),
        ("attested", "attested by the investigator"),
    ),
)


def eligibility_results() -> Dataset:
    cols = (
        *key_columns(),
        Column("criterion", _("criterion"), TEXT, "", length=3, key=True),
        Column("kind", _("inclusion or exclusion"), TEXT, "", length=10),
        Column(
            "status",
            _("status"),
            TEXT,
            "",
            codelist=STATUS,
            derivation="eligibility.rules.evaluate on the screening CRF (PROTOCOL.md I01–I09, "
            "E01–E16)",
        ),
        Column("reason", _("reason"), TEXT, "", derivation="eligibility.rules reasons (English)"),
    )
    return Dataset(
        "eligibility_criteria",
        _("Eligibility results per criterion"),
        None,
        cols,
        rows_fn=_eligibility_rows,
        description="Derived: one row per criterion per screened subject.",
    )


def _eligibility_rows(subject_ids) -> Iterator[tuple]:
    from eligibility import services

    screened = _subjects(subject_ids, "screening").filter(screening__isnull=False)
    ranges: dict[int, list] = {}
    for chunk in _chunks(screened):
        missing = {s.site_id for s in chunk} - set(ranges)
        ranges.update(dict.fromkeys(missing, []) | services.site_ranges(missing))
        for subject in chunk:
            screening = subject.screening
            in_force = services.ranges_for(subject, screening, ranges[subject.site_id])
            verdict = services.evaluate(subject, screening, ranges=in_force)
            for r in verdict.results:
                yield (*_keys(subject), r.code, str(r.kind), str(r.status), r.reason)


def exposure_listing() -> Dataset:
    d = "dosing.exposure.exposure over the dosing events (PROTOCOL.md dosing)"
    cols = (
        *key_columns(),
        Column("cycles_started", _("cycles started"), INTEGER, "", derivation=d),
        Column("first_dose", _("first dose"), DATE, "", derivation=d),
        Column("last_dose", _("last dose"), DATE, "", derivation=d),
        Column("duration_days", _("duration of exposure"), INTEGER, "", unit="days", derivation=d),
        Column("cumulative_mg", _("cumulative dose"), INTEGER, "", unit="mg", derivation=d),
        Column("planned_dosing_days", _("planned dosing days"), INTEGER, "", derivation=d),
        Column(
            "dose_intensity",
            _("dose intensity"),
            FLOAT,
            "",
            unit="mg/day",
            derivation=d,
        ),
        Column(
            "relative_dose_intensity",
            _("relative dose intensity"),
            FLOAT,
            "",
            unit="%",
            derivation=f"dose intensity / {P.START_DOSE_MG} mg planned × 100 ({d})",
        ),
        Column("interruptions", _("interruptions"), INTEGER, "", derivation=d),
        Column("reductions", _("dose reductions"), INTEGER, "", derivation=d),
    )
    return Dataset(
        "exposure",
        _("Exposure"),
        None,
        cols,
        rows_fn=_exposure_rows,
        description="Derived: one row per treated subject.",
    )


def _exposure_rows(subject_ids) -> Iterator[tuple]:
    from dosing.models import DoseEvent
    from dosing.services import exposure_for
    from subjects.models import Visit
    from subjects.schedule import VisitKind

    for chunk, ids in _treated_chunks(subject_ids):
        events = _grouped(DoseEvent.objects.filter(subject_id__in=ids).order_by("pk"), "subject_id")
        starts: dict[int, dict] = {}
        cycle_visits = Visit.objects.filter(
            subject_id__in=ids, kind=VisitKind.CYCLE, actual_date__isnull=False
        ).values_list("subject_id", "number", "actual_date")
        for sid, number, day in cycle_visits:
            starts.setdefault(sid, {})[number] = day
        for subject in chunk:
            e = exposure_for(
                subject, events=events.get(subject.pk, []), cycle_dates=starts.get(subject.pk, {})
            )
            yield from _exposure_row(subject, e)


def _exposure_row(subject, e) -> Iterator[tuple]:
    if e is not None:
        yield (
            *_keys(subject),
            e.cycles_started,
            e.first_dose,
            e.last_dose,
            e.duration_days,
            e.cumulative_mg,
            e.planned_dosing_days,
            e.dose_intensity_mg_per_day,
            e.relative_dose_intensity,
            e.interruptions,
            e.reductions,
        )


def best_response_listing() -> Dataset:
    from assessments.recist import Response

    responses = CodeList("bor", tuple((r.value, r.value) for r in Response))
    d = f"RECIST 1.1 section 4.4 with confirmation, {RECIST}.best_overall_response"
    cols = (
        *key_columns(),
        Column(
            "best_response", _("best overall response"), TEXT, "", codelist=responses, derivation=d
        ),
        Column("response_date", _("response date"), DATE, "", derivation=d),
        Column("confirmed_on", _("confirmed on"), DATE, "", derivation=d),
        Column("first_pd_date", _("first progression"), DATE, "", derivation=d),
    )
    return Dataset(
        "best_response",
        _("Best overall response"),
        None,
        cols,
        rows_fn=_best_response_rows,
        description="Derived: one row per subject with C1D1.",
    )


def _best_response_rows(subject_ids) -> Iterator[tuple]:
    from assessments.models import Lesion, Timepoint
    from assessments.services import best_response

    for chunk, ids in _treated_chunks(subject_ids):
        scans = _grouped(
            Timepoint.objects.filter(subject_id__in=ids).order_by("subject_id", "scan_date"),
            "subject_id",
        )
        targets = set(
            Lesion.objects.filter(subject_id__in=ids, role=Lesion.Role.TARGET).values_list(
                "subject_id", flat=True
            )
        )
        for subject in chunk:
            b = best_response(
                subject, timepoints=scans.get(subject.pk, []), has_target=subject.pk in targets
            )
            yield (
                *_keys(subject),
                str(b.response),
                b.response_date,
                b.confirmed_on,
                b.first_pd_date,
            )


def audit_trail() -> Dataset:
    cols = (
        *key_columns(),
        Column("sequence", _("sequence"), INTEGER, "", key=True),
        Column("occurred_at", _("date and time (UTC)"), DATETIME, ""),
        Column("table", _("table"), TEXT, "", system=True),
        Column("record_id", _("record id"), TEXT, "", system=True),
        Column("action", _("action"), TEXT, "", system=True),
        Column("field", _("field"), TEXT, "", system=True),
        Column("old_value", _("old value"), TEXT, ""),
        Column("new_value", _("new value"), TEXT, ""),
        Column("user", _("user"), TEXT, ""),
        Column("reason", _("reason for change"), TEXT, ""),
        Column("chain_position", _("position on the subject's audit chain"), INTEGER, ""),
    )
    return Dataset(
        "audit_trail",
        _("Audit trail"),
        None,
        cols,
        sql_fn=_audit_sql,
        description="One row per changed field of each audited change (long format); an "
        "event that changed no field (a workflow step) is one row with an empty field.",
    )


def _audit_sql(subject_ids) -> tuple[str, list]:
    """The subjects' audit chains in order, one row per field whose value changed (the new
    row's keys, or the old row's for a delete; bookkeeping columns left out), as SQL: the
    database unnests the JSON of millions of rows far faster than Python would. Subject by
    subject in chain order: the chain's own index, no sort of millions of rows."""
    from audit.models import VersionedModel

    where, params = "", []
    if subject_ids is not None:
        where, params = "WHERE s.id = ANY(%s)", [list(subject_ids)]
    sql = f"""
        SELECT t.code, s.screening_number, s.subject_number, e.chain_seq, e.occurred_at,
               e.table_name, e.record_pk, e.action, k.key, e.old_data ->> k.key,
               e.new_data ->> k.key, e.app_username, e.reason, e.chain_pos
        FROM subjects_subject s
        JOIN accounts_site t ON t.id = s.site_id
        JOIN audit_auditevent e ON e.chain_key = s.id
        LEFT JOIN LATERAL (
            SELECT key FROM jsonb_object_keys(COALESCE(e.new_data, e.old_data)) AS key
            WHERE jsonb_typeof(COALESCE(e.new_data, e.old_data)) = 'object'
              AND key <> ALL(%s)
              AND (e.old_data -> key) IS DISTINCT FROM (e.new_data -> key)
        ) k ON e.action IN ('INSERT', 'UPDATE', 'DELETE')
        {where}
        ORDER BY e.chain_key, e.chain_pos
    """  # noqa: S608 - no user input: the WHERE is fixed text, the ids are parameters
    return sql, [sorted(VersionedModel.BOOKKEEPING), *params]
