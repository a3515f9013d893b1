"""The records a query may name (issue 14 section 1: "any CRF: screening, visit, dose event,
lesion, timepoint, AE, SAE, lab value"), how each leads to its subject and visit, and the
check that a (record type, id, field) names a real field of a record of the subject."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from audit.models import VersionedModel


@dataclass(frozen=True)
class RecordType:
    label: str  # app_label.model_name, as stored in Query.record_type
    subject_path: str  # lookup from the record to its subject's id
    visit_path: str | None  # lookup to its visit's id, if it has one

    @property
    def model(self):
        return apps.get_model(self.label)


def _visit_crf(name):
    return RecordType(f"crfs.{name}", "subject_id", "visit_id")


RECORD_TYPES: dict[str, RecordType] = {
    r.label: r
    for r in (
        RecordType("eligibility.screening", "subject_id", None),
        _visit_crf("vitalsigns"),
        _visit_crf("ecog"),
        _visit_crf("physicalexam"),
        _visit_crf("ecg"),
        _visit_crf("urinalysis"),
        _visit_crf("thyroidfunction"),
        _visit_crf("review"),
        RecordType("dosing.doseevent", "subject_id", None),
        RecordType("assessments.lesion", "subject_id", None),
        RecordType("assessments.timepoint", "subject_id", "visit_id"),
        RecordType("safety.adverseevent", "subject_id", None),
        RecordType("safety.saereport", "ae__subject_id", None),
        RecordType("safety.labresult", "panel__subject_id", "panel__visit_id"),
    )
}

# never the subject of a question: keys and bookkeeping
_NOT_QUERYABLE = {"id", *VersionedModel.BOOKKEEPING}


def queryable_fields(model) -> list[str]:
    """The names of the concrete fields of ``model`` a query may name."""
    return [f.name for f in model._meta.concrete_fields if f.name not in _NOT_QUERYABLE]


def record_label(label: str) -> str:
    """The record type as people read it (the model's verbose name)."""
    kind = RECORD_TYPES.get(label)
    return str(kind.model._meta.verbose_name) if kind else label


def field_label(label: str, field: str) -> str:
    kind = RECORD_TYPES.get(label)
    if kind is None or not field:
        return field
    try:
        return str(kind.model._meta.get_field(field).verbose_name)
    except Exception:  # a field since removed: its name
        return field


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def resolve(label: str, record_id, field: str, *, subject=None):
    """The record a query by hand names, with its subject id and visit id:
    ``(record, subject_id, visit_id)``; refused (``ValidationError`` by input) when the type
    is not one queries name, the id names no record (or one of another subject), or the
    field is not a concrete field of the model."""
    kind = RECORD_TYPES.get(label or "")
    if kind is None:
        raise _error("record_type", _("Queries cannot name this kind of record."), "invalid")
    try:
        record_id = int(record_id)
    except (TypeError, ValueError):
        raise _error("record_id", _("Give the number of a record."), "invalid") from None
    if record_id < 1 or record_id > 2**63 - 1:
        raise _error("record_id", _("Give the number of a record."), "invalid")
    model = kind.model
    if field not in queryable_fields(model):
        raise _error("field", _("This record has no such field."), "invalid")
    columns = ["pk", kind.subject_path] + ([kind.visit_path] if kind.visit_path else [])
    row = model.objects.filter(pk=record_id).values_list(*columns).first()
    if row is None or (subject is not None and row[1] != subject.pk):
        raise _error("record_id", _("No such record for this subject."), "not_found")
    return row[0], row[1], (row[2] if kind.visit_path else None)


def visit_id_of(record) -> int | None:
    """The visit of a record in hand, without a query (None when not loaded)."""
    visit_id = getattr(record, "visit_id", None)
    if visit_id is None and "panel" in getattr(record._state, "fields_cache", {}):
        visit_id = record.panel.visit_id
    return visit_id
