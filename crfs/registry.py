"""Every CRF the schedule of assessments names: its label, where it is entered, and how its
state at a set of visits is read (one query per CRF, whatever the number of visits).

Two sorts: the visit CRFs of this app (a model of ``crfs.models``, entered through
``crfs.services.save_crf`` and the generic page / API), and CRFs other apps own (the screening
CRF, the lab panel, the RECIST timepoint...), entered on their own pages, whose state is read
here only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from alter_s006.sql import id_array
from crfs import models as m
from crfs.soa import FormState


@dataclass(frozen=True)
class FormSpec:
    key: str
    label: Promise
    model: type | None = None  # a crfs model: entered here
    fields: tuple[str, ...] = ()  # typed fields, in the form's order
    review_kind: str = ""  # Review rows: their kind
    url_name: str = ""  # another app's page: URL name taking the subject pk
    visit_url: bool = False  # that URL takes (subject pk, visit pk)
    visit_query: bool = False  # that page takes ?visit=<pk> to choose the visit
    log_url_name: str = ""  # a review: the log it reviews (URL name taking the subject pk)
    units: dict[str, str] = field(default_factory=dict)

    @property
    def own(self) -> bool:
        return self.model is not None

    def url(self, visit) -> str:
        if self.own:
            return reverse("crfs:form", args=[visit.subject_id, visit.pk, self.key])
        args = [visit.subject_id, visit.pk] if self.visit_url else [visit.subject_id]
        url = reverse(self.url_name, args=args)
        return f"{url}?visit={visit.pk}" if self.visit_query else url


def _review(key, label, log_url_name):
    return FormSpec(
        key,
        label,
        model=m.Review,
        fields=("assessed_on", "answer", "comment"),
        review_kind=key,
        log_url_name=log_url_name,
    )


FORMS: dict[str, FormSpec] = {
    spec.key: spec
    for spec in (
        FormSpec(
            "vital_signs",
            _("Vital signs"),
            model=m.VitalSigns,
            fields=(
                "assessed_on",
                "systolic",
                "diastolic",
                "heart_rate",
                "temperature",
                "weight",
                "height",
                "not_done_reason",
            ),
            units={
                "systolic": "mm Hg",
                "diastolic": "mm Hg",
                "heart_rate": "/min",
                "temperature": "°C",
                "weight": "kg",
                "height": "cm",
            },
        ),
        FormSpec(
            "ecog", _("ECOG performance status"), model=m.Ecog, fields=("assessed_on", "score")
        ),
        FormSpec(
            "physical_exam",
            _("Physical examination"),
            model=m.PhysicalExam,
            fields=("assessed_on", "result", "findings"),
        ),
        FormSpec(
            "ecg",
            _("12-lead ECG"),
            model=m.Ecg,
            fields=("assessed_on", "qt", "rr", "heart_rate", "interpretation", "findings"),
            units={"qt": "ms", "rr": "ms", "heart_rate": "/min"},
        ),
        FormSpec(
            "urinalysis",
            _("Urinalysis"),
            model=m.Urinalysis,
            fields=("assessed_on", "protein_dipstick", "protein_24h", "not_done_reason"),
            units={"protein_24h": "g/24 h"},
        ),
        FormSpec(
            "thyroid_function",
            _("Thyroid function"),
            model=m.ThyroidFunction,
            fields=("assessed_on", "tsh", "ft4", "not_done_reason"),
            units={"tsh": "mIU/L", "ft4": "pmol/L"},
        ),
        _review("con_med_review", _("Concomitant medications review"), "logs:con_meds"),
        _review("ae_review", _("Adverse events review"), "safety:ae_list"),
        _review("medical_history_review", _("Medical history review"), "logs:history"),
        _review("ae_outcome_review", _("Ongoing adverse events' outcomes"), "safety:ae_list"),
        # entered on other apps' pages
        FormSpec("demographics", _("Demographics and consent"), url_name="subjects:edit"),
        FormSpec(
            "screening_crf", _("Screening CRF (eligibility data)"), url_name="eligibility:screening"
        ),
        FormSpec(
            "eligibility_signature",
            _("Eligibility signed by the investigator"),
            url_name="eligibility:sign",
        ),
        FormSpec(
            "baseline_tumour", _("Baseline tumour assessment"), url_name="assessments:baseline"
        ),
        FormSpec("lab_panel", _("Lab panel"), url_name="safety:labs", visit_query=True),
        FormSpec("dispensing", _("Dispensing and returns"), url_name="dosing:accountability"),
        FormSpec("recist_timepoint", _("RECIST 1.1 timepoint"), url_name="assessments:new"),
        FormSpec("end_of_treatment", _("End of treatment"), url_name="outcomes:end_of_treatment"),
        FormSpec(
            "survival_follow_up",
            _("Survival follow-up"),
            url_name="outcomes:survival_follow_up",
            visit_url=True,
        ),
    )
}

OWN_MODELS = [m.VitalSigns, m.Ecog, m.PhysicalExam, m.Ecg, m.Urinalysis, m.ThyroidFunction]
_KEY_OF_MODEL = {spec.model: key for key, spec in FORMS.items() if spec.model in OWN_MODELS}

StateMap = dict[tuple[int, str], FormState]


def _own_states(visits) -> StateMap:
    """A saved visit CRF is complete: the service refuses one with a required value missing."""
    ids = [v.pk for v in visits]
    out: StateMap = {}
    for model in OWN_MODELS:
        key = _KEY_OF_MODEL[model]
        rows = model.objects.filter(visit_id__in=id_array(ids)).values_list("visit_id", flat=True)
        for visit_id in rows:
            out[(visit_id, key)] = FormState.COMPLETE
    reviews = m.Review.objects.filter(visit_id__in=id_array(ids))
    for visit_id, kind in reviews.values_list("visit_id", "kind"):
        out[(visit_id, kind)] = FormState.COMPLETE
    return out


def _by_subject(visits, kinds: set[str]):
    return [v for v in visits if v.kind in kinds]


def _subject_level_states(visits) -> StateMap:
    """The screening visit's CRFs kept per subject by other apps: one query each."""
    from assessments.models import Lesion
    from eligibility.models import EligibilitySignature, Screening

    screening = _by_subject(visits, {"screening"})
    out: StateMap = {}
    if not screening:
        return out
    subjects = {v.subject_id: v for v in screening}
    for v in screening:
        out[(v.pk, "demographics")] = FormState.COMPLETE  # the subject exists: registered
    for sid in Screening.objects.filter(subject_id__in=subjects).values_list(
        "subject_id", flat=True
    ):
        out[(subjects[sid].pk, "screening_crf")] = FormState.COMPLETE
    signed = EligibilitySignature.objects.filter(
        subject_id__in=subjects, voided_at__isnull=True
    ).values_list("subject_id", flat=True)
    for sid in signed:
        out[(subjects[sid].pk, "eligibility_signature")] = FormState.COMPLETE
    for sid in (
        Lesion.objects.filter(subject_id__in=subjects)
        .values_list("subject_id", flat=True)
        .distinct()
    ):
        out[(subjects[sid].pk, "baseline_tumour")] = FormState.COMPLETE
    return out


def _visit_level_states(visits) -> StateMap:
    """Other apps' CRFs tied to a visit (lab panel, RECIST timepoint) or to its date
    (dispensing): one query each."""
    from assessments.models import Timepoint
    from dosing.models import Dispensing
    from safety.models import LabPanel

    ids = [v.pk for v in visits]
    out: StateMap = {}
    panels = LabPanel.objects.filter(visit_id__in=id_array(ids))
    for visit_id in panels.values_list("visit_id", flat=True):
        out[(visit_id, "lab_panel")] = FormState.COMPLETE
    timepoints = Timepoint.objects.filter(visit_id__in=id_array(ids))
    for visit_id in timepoints.values_list("visit_id", flat=True):
        out[(visit_id, "recist_timepoint")] = FormState.COMPLETE
    # dispensing: on the day a cycle visit was held (one query for the subjects' dispensings,
    # also when no visit is held yet: the same statements whatever the visits)
    held = {
        (v.subject_id, v.actual_date): v.pk for v in visits if v.actual_date and v.kind == "cycle"
    }
    dispensed = Dispensing.objects.filter(subject_id__in={v.subject_id for v in visits})
    for key in dispensed.values_list("subject_id", "dispensed_on"):
        if key in held:
            out[(held[key], "dispensing")] = FormState.COMPLETE
    return out


def _outcome_states(visits) -> StateMap:
    """End of treatment and survival follow-up (``outcomes``): one query per form model."""
    from outcomes.selectors import completed_forms

    return dict.fromkeys(completed_forms(v.pk for v in visits), FormState.COMPLETE)


STATE_PROVIDERS: list[Callable[[list], StateMap]] = [
    _own_states,
    _subject_level_states,
    _visit_level_states,
    _outcome_states,
]


def form_states(visits) -> StateMap:
    """(visit id, form key) -> state for every CRF saved at ``visits`` (absent: missing).

    A fixed number of queries whatever the number of visits (one per CRF table)."""
    visits = list(visits)
    out: StateMap = {}
    if not visits:
        return out
    for provider in STATE_PROVIDERS:
        out.update(provider(visits))
    return out
