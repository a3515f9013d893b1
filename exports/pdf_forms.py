"""What a CRF looks like on paper (issue 15 section 1): every field of a form instance with its
label and its value as a reader sees it (``metadata.value_display``: decoded code list, unit),
its derived values, its child rows (lesion measurements, lab values, grade history, SAE
reports), its state (hold, SDV, open queries) and the signatures that apply to it.

Built for many records at once, a fixed number of queries per table whatever the number of
records: the per-CRF PDF asks for one record, the casebook for every record of a subject.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from exports.metadata import Dataset, catalogue, value_display

# The datasets a per-CRF PDF may be asked for: the CRFs, and the SAE report (a safety form).
EXTRA_FORMS = ("sae_reports",)


@dataclass
class Field:
    name: str
    label: str
    value: str
    derived: bool = False


@dataclass
class Child:
    title: str
    headers: list[str]
    rows: list[list[str]]

    @property
    def stacked(self) -> bool:
        """Too many columns for a table across A4: each row printed as "label: value" pairs."""
        return len(self.headers) > 6

    @property
    def pairs(self) -> list[list[tuple[str, str]]]:
        return [list(zip(self.headers, row, strict=True)) for row in self.rows]


@dataclass
class Sign:
    printed_name: str
    signed_at: object  # aware datetime
    meaning: str


@dataclass
class PdfForm:
    dataset: Dataset
    record_id: int
    visit_id: int | None
    fields: list[Field]
    children: list[Child] = field(default_factory=list)
    hold: object = None  # the Hold in force (lock before freeze) or None
    sdv: str = ""
    open_queries: int = 0
    signatures: list[Sign] = field(default_factory=list)
    verdict: dict | None = None  # screening: {"eligible": bool, "rows": criteria_rows}
    visit: object = None  # the Visit, set by the caller from ``visit_labels``

    @property
    def anchor(self) -> str:
        return f"form-{self.dataset.key}-{self.record_id}"

    @property
    def label(self) -> str:
        return str(self.dataset.label)

    @property
    def model_label(self) -> str:
        return self.dataset.model._meta.label_lower


def printable(ds: Dataset) -> bool:
    """A dataset a per-CRF PDF exists for."""
    return ds.model is not None and ds.rows_fn is None and (ds.crf or ds.key in EXTRA_FORMS)


def parent_of(ds: Dataset) -> Dataset | None:
    """The form a child table belongs to (lesion measurements -> timepoint), if any: the first
    step of its subject path is a foreign key to another printable form."""
    if ds.model is None or "__" not in ds.subject_path:
        return None
    first = ds.subject_path.split("__")[0]
    target = ds.model._meta.get_field(first).related_model
    parent = catalogue().for_model(target)
    return parent if parent is not None and printable(parent) else None


def children_of(ds: Dataset) -> list[Dataset]:
    return [c for c in catalogue() if printable(c) and parent_of(c) is ds]


def _shown(ds: Dataset):
    return [c for c in ds.columns if not c.key]


def shown_value(column, value, tz=None) -> str:
    """``metadata.value_display``, a date-time at the site's time zone with UTC beside it
    (as every signature and page of the project shows it)."""
    if isinstance(value, dt.datetime) and tz is not None:
        local = timezone.localtime(value, tz)
        utc = timezone.localtime(value, dt.UTC)
        return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({utc:%Y-%m-%d %H:%M} UTC)"
    if column.name == "notes" and isinstance(value, list):
        # RECIST notes ({"code", "params"}): worded as the tumour pages word them
        from assessments.notes import note_text

        return " ".join(note_text(n) for n in value if isinstance(n, dict))
    if column.codelist is not None and value not in (None, ""):
        # the decode is the choice's label in the default language (``metadata.catalogue``):
        # shown in the reader's language when the catalogue translates it
        return gettext(column.codelist.decode(value))
    return value_display(column, value)


def _fields(ds: Dataset, values: tuple, tz) -> list[Field]:
    return [
        Field(c.name, str(c.label), shown_value(c, v, tz), bool(c.derivation))
        for c, v in zip(_shown(ds), values, strict=True)
    ]


def _visit_lookup(ds: Dataset) -> str | None:
    return ds.visit_path or None


def records(ds: Dataset, *, subject_id: int, ids=None, tz=None) -> list[PdfForm]:
    """The forms of ``ds`` of one subject (only ``ids`` if given), in the dataset's order."""
    qs = ds.queryset([subject_id])
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    visit = _visit_lookup(ds)
    paths = ["pk", visit or "pk", *[c.path for c in _shown(ds)]]
    forms = []
    for pk, visit_id, *values in qs.values_list(*paths):
        forms.append(PdfForm(ds, pk, visit_id if visit else None, _fields(ds, values, tz)))
    return forms


def _child_tables(ds: Dataset, forms: list[PdfForm], subject_id: int, tz) -> None:
    """Each form's child rows, one query per child table (the column naming the parent and
    the columns empty in every row left out)."""
    by_id = {f.record_id: f for f in forms}
    for child in children_of(ds):
        fk = child.subject_path.split("__")[0]
        shown = [c for c in _shown(child) if c.name != f"{fk}_id"]
        qs = child.queryset([subject_id]).filter(**{f"{fk}_id__in": list(by_id)})
        grouped: dict[int, list[list[str]]] = defaultdict(list)
        for parent_id, *values in qs.values_list(f"{fk}_id", *[c.path for c in shown]):
            grouped[parent_id].append(
                [shown_value(c, v, tz) for c, v in zip(shown, values, strict=True)]
            )
        for pid, rows in grouped.items():
            keep = [i for i in range(len(shown)) if any(r[i] for r in rows)]
            headers = [str(shown[i].label) for i in keep]
            rows = [[r[i] for i in keep] for r in rows]
            by_id[pid].children.append(Child(str(child.label), headers, rows))


def _holds(subject_id: int) -> list:
    from monitoring.models import Hold, Level

    q = Q(level=Level.STUDY) | Q(subject_id=subject_id)
    return list(Hold.objects.filter(q, lifted_at__isnull=True).order_by("-kind", "id"))


def _hold_for(form: PdfForm, holds: list, parent: tuple | None) -> object:
    """The hold in force on a form (a lock before a freeze): study, subject, its visit, itself
    or its parent form."""
    from monitoring.models import Level

    def covers(h):
        if h.level in (Level.STUDY, Level.SUBJECT):
            return True
        if h.level == Level.VISIT:
            return form.visit_id is not None and h.visit_id == form.visit_id
        return (h.record_type, h.record_id) in {(form.model_label, form.record_id), parent}

    return next((h for h in holds if covers(h)), None)


def _sdv_and_queries(ds: Dataset, forms: list[PdfForm], subject_id: int) -> None:
    from monitoring.services import OPEN_QUERY_STATES, sdv_states
    from queries.models import Query

    label = ds.model._meta.label_lower
    states = sdv_states(label, [f.record_id for f in forms])
    open_q = Counter(
        Query.objects.filter(
            subject_id=subject_id, record_type=label, status__in=OPEN_QUERY_STATES
        ).values_list("record_id", flat=True)
    )
    for f in forms:
        f.sdv = states.get(f.record_id, "not_verified")
        f.open_queries = open_q.get(f.record_id, 0)


def _signatures(ds: Dataset, forms: list[PdfForm], subject_id: int) -> None:
    """The e-signatures that apply to each form: a monitoring CRF signature, and the
    form's own (causality of an AE, submission of an SAE report, eligibility sign-off)."""
    from monitoring.models import Signature

    by_id = {f.record_id: f for f in forms}
    crf_signs = Signature.objects.filter(
        level=Signature.Level.CRF,
        subject_id=subject_id,
        record_type=forms[0].model_label,
        record_id__in=list(by_id),
        voided_at__isnull=True,
    ).order_by("signed_at")
    for s in crf_signs:
        by_id[s.record_id].signatures.append(Sign(s.printed_name, s.signed_at, _(s.meaning)))
    own = OWN_SIGNATURES.get(ds.key)
    if own is not None:
        own(ds, by_id, subject_id)


def _causality(ds, by_id, subject_id) -> None:
    from safety.models import AdverseEvent

    rows = ds.model.objects.filter(pk__in=list(by_id), causality_signed_at__isnull=False)
    for pk, name, at in rows.values_list("pk", "causality_printed_name", "causality_signed_at"):
        by_id[pk].signatures.append(Sign(name, at, _(AdverseEvent.CAUSALITY_MEANING)))


def _sae_submission(ds, by_id, subject_id) -> None:
    from safety.models import SaeReport

    rows = ds.model.objects.filter(pk__in=list(by_id), signed_at__isnull=False)
    for pk, name, at in rows.values_list("pk", "signed_printed_name", "signed_at"):
        by_id[pk].signatures.append(Sign(name, at, _(SaeReport.SUBMISSION_MEANING)))


def _eligibility(ds, by_id, subject_id) -> None:
    """The screening CRF: the eligibility verdict derived now, with its reasons per criterion,
    and the eligibility sign-offs (a voided one shown as void)."""
    from eligibility import services
    from eligibility.models import EligibilitySignature
    from subjects.models import Subject

    subject = Subject.objects.select_related("site").get(pk=subject_id)
    screening = services.get_screening(subject)
    verdict = services.evaluate(subject, screening)
    valid = services.valid_signature(subject, screening)
    signs = EligibilitySignature.objects.filter(subject_id=subject_id).order_by("signed_at")
    for form in by_id.values():
        rows = services.criteria_rows(verdict, valid)
        for row in rows:
            row["status"] = criterion_status_label(row["status"])
        form.verdict = {"eligible": verdict.eligible, "rows": rows}
        for s in signs:
            meaning = _(s.meaning)
            if s.voided_at:
                meaning = _("%(meaning)s (void)") % {"meaning": meaning}
            form.signatures.append(Sign(s.printed_name, s.signed_at, meaning))


OWN_SIGNATURES = {
    "adverse_events": _causality,
    "sae_reports": _sae_submission,
    "screening": _eligibility,
}


def _parent_of_form(ds: Dataset, forms: list[PdfForm]) -> dict[int, tuple]:
    """record id -> (parent label, parent id) for a child form (its parent's hold covers it)."""
    parent = parent_of(ds)
    if parent is None:
        return {}
    fk = ds.subject_path.split("__")[0]
    ids = [f.record_id for f in forms]
    label = parent.model._meta.label_lower
    rows = ds.model.objects.filter(pk__in=ids).values_list("pk", f"{fk}_id")
    return {pk: (label, pid) for pk, pid in rows}


def build_forms(ds: Dataset, *, subject_id: int, ids=None, holds=None, tz=None) -> list[PdfForm]:
    """Every printable detail of the forms of ``ds`` of one subject: a fixed number of
    queries for the whole table (the casebook calls it once per dataset). Date-times are
    printed at ``tz`` (the site's time zone) with UTC."""
    forms = records(ds, subject_id=subject_id, ids=ids, tz=tz)
    if not forms:
        return forms
    _child_tables(ds, forms, subject_id, tz)
    _sdv_and_queries(ds, forms, subject_id)
    _signatures(ds, forms, subject_id)
    holds = _holds(subject_id) if holds is None else holds
    parents = _parent_of_form(ds, forms)
    for f in forms:
        f.hold = _hold_for(f, holds, parents.get(f.record_id))
    return forms


def visit_labels(subject_id: int) -> dict[int, object]:
    """visit id -> the visit (code, dates), one query."""
    from subjects.models import Visit

    return {v.pk: v for v in Visit.objects.filter(subject_id=subject_id)}


def criterion_status_label(status: str) -> str:
    labels = {
        "met": _("met"),
        "not_met": _("not met"),
        "not_evaluable": _("not evaluable"),
        "attested": _("attested by the investigator"),
        "pending_attestation": _("awaiting the investigator's attestation"),
    }
    return str(labels.get(status, status))
