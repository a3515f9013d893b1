"""The RECIST notes and refusals in words: ``assessments.recist`` gives a code and its
parameters, this module words them in the reader's language (issue 11 C13).

A stored note is ``{"code": ..., "params": {...}}`` (:func:`as_json`); numbers are written
with ``alter_s006.templatetags.edc_format`` (per cent signed with two places, mm without
trailing zeros). A code this module does not know (a note stored before codes) shows its
``text`` parameter as it was stored.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from alter_s006.templatetags.edc_format import format_number, format_signed_pct
from assessments import recist

# The words of the RECIST inputs as the pages show them (the stored values stay as they are;
# CR, PR, SD, PD, NE, non-CR/non-PD, CT and MRI are written the same in every language).
LABELS: dict[str, object] = {
    recist.MeasurementKind.MEASURED: pgettext_lazy("RECIST measurement", "measured"),
    recist.MeasurementKind.TOO_SMALL: pgettext_lazy("RECIST measurement", "too small to measure"),
    recist.MeasurementKind.DISAPPEARED: pgettext_lazy("RECIST measurement", "disappeared"),
    recist.MeasurementKind.NOT_ASSESSED: pgettext_lazy("RECIST measurement", "not assessed"),
    recist.MeasurementKind.SPLIT: pgettext_lazy("RECIST measurement", "split"),
    recist.MeasurementKind.MERGED: pgettext_lazy("RECIST measurement", "merged"),
    recist.NewLesion.NO: pgettext_lazy("RECIST new lesion", "no"),
    recist.NewLesion.YES: pgettext_lazy("RECIST new lesion", "yes"),
    recist.NewLesion.EQUIVOCAL: pgettext_lazy("RECIST new lesion", "equivocal"),
    recist.NonTargetStatus.NOT_EVALUATED: pgettext_lazy("RECIST non-target", "not evaluated"),
    recist.Method.CALIPER: pgettext_lazy("RECIST method", "caliper"),
    recist.Method.CHEST_XRAY: pgettext_lazy("RECIST method", "chest X-ray"),
}


def label(value) -> str:
    """A RECIST input value (measurement kind, new lesion, non-target status, method) in words."""
    return str(LABELS.get(value, value))


def choices(enum, blank: str | None = "—") -> list[tuple[str, object]]:
    """Form choices of a RECIST enum: stored value, shown label (lazy: the reader's language)."""
    items = [(member.value, LABELS.get(member, member.value)) for member in enum]
    return ([("", blank)] if blank is not None else []) + items


NOTE_TEXTS = {
    # timepoint (RECIST 4.3.1, 4.3.4, 4.4.2)
    "pr_from_baseline": _(
        "Sum %(percent)s from the baseline sum (%(baseline_mm)s mm): a decrease of at least "
        "%(limit_pct)s %% is PR (RECIST 4.3.1)."
    ),
    "pd_from_nadir": _(
        "Sum %(percent)s (%(increase_mm)s mm) above the nadir (%(nadir_mm)s mm): at least "
        "%(limit_pct)s %% and %(limit_mm)s mm is PD (RECIST 4.3.1)."
    ),
    "pd_from_zero_nadir": _(
        "Sum %(increase_mm)s mm above a nadir of 0 mm: at least %(limit_mm)s mm is PD "
        "(RECIST 4.3.1)."
    ),
    "sd_between_limits": _(
        "Sum %(percent)s from the baseline: neither a decrease of %(pr_pct)s %% (PR) nor an "
        "increase of %(pd_pct)s %% and %(pd_mm)s mm over the nadir (PD), so SD (RECIST 4.3.1)."
    ),
    "cr_nodes_normal": _(
        "CR with a sum of %(sum_mm)s mm: every target node is below %(node_mm)s mm (RECIST 4.3.1)."
    ),
    "target_not_assessed": _("A target lesion was not assessed: NE (RECIST 4.4.2)."),
    "pd_assessed_targets_alone": _(
        "A target was not assessed, but the assessed targets alone (%(assessed_sum_mm)s mm) are "
        "at least %(limit_pct)s %% and %(limit_mm)s mm above the nadir (%(nadir_mm)s mm): PD "
        "(RECIST 4.4.2)."
    ),
    "equivocal_new_lesion": _(
        "Equivocal new lesion: not PD yet; if a later scan confirms it, PD is dated to this "
        "scan (RECIST 4.3.4)."
    ),
    "new_lesion_pd": _("Unequivocal new lesion: PD whatever the target lesions do (RECIST 4.3.4)."),
    # best overall response (RECIST 4.3.4, 4.4.3 table 3, 4.6)
    "pd_dated_back": _(
        "PD dated back to %(date)s, the first scan of the equivocal new lesion confirmed later "
        "(RECIST 4.3.4)."
    ),
    "after_first_pd_not_used": _("Assessments after the first PD are not used."),
    "first_cr_read_as_pr": _("The first CR is read as a PR (RECIST table 3, footnote a)."),
    "response_not_confirmed": _("CR/PR not confirmed at least %(days)s days later (RECIST 4.6)."),
    "sd_too_early": _("Stable disease before day %(day)s after C1D1 does not count."),
    "unconfirmed_cr_then_worse": _(
        "An unconfirmed CR followed by a worse response before the SD minimum: RECIST table 3 "
        "reads PD, but no PD assessment dates it, so NE (review)."
    ),
}


# Refusals of assessments.recist (RecistError codes; "code/variant" where the wording differs).
ERROR_TEXTS = {
    "invalid": _("Enter the diameter in mm."),
    "diameter_negative": _("A diameter cannot be negative."),
    "diameter_implausible": _("%(mm)s mm is above the %(limit_mm)s mm limit: check the entry."),
    "slice_required": _("Enter the slice thickness of the CT/MRI."),
    "slice_zero": _("A slice thickness cannot be 0 mm."),
    "no_lesion": _("Record at least one target or non-target lesion."),
    "too_many_targets": _(
        "At most %(max)s target lesions (RECIST 4.2); record the others as non-target lesions."
    ),
    "too_many_targets_in_organ": _(
        "At most %(max)s target lesions per organ (RECIST 4.2; all lymph nodes are one organ): "
        "%(lesion_id)s is one too many in %(organ)s."
    ),
    "lesion_id_required": _("Every lesion needs an identifier."),
    "lesion_id_duplicate": _("Lesion %(lesion_id)s is recorded twice."),
    "organ_required": _("Enter the organ of the lesion."),
    "target_unmeasured": _("A target lesion must be measured."),
    "node_method": _("A target lymph node is measured on CT or MRI."),
    "node_not_measurable/non_target": _(
        "A target lymph node needs a short axis of at least %(minimum_mm)s mm (RECIST 3.1.1); "
        "%(mm)s mm: record it as a non-target lesion."
    ),
    "node_not_measurable/not_pathological": _(
        "A target lymph node needs a short axis of at least %(minimum_mm)s mm (RECIST 3.1.1); "
        "%(mm)s mm: it is not pathological."
    ),
    "not_measurable": _(
        "%(mm)s mm is not measurable by %(method)s (minimum %(minimum_mm)s mm, RECIST 3.1.1); "
        "record it as a non-target lesion."
    ),
    "node_not_pathological": _(
        "A lymph node with a short axis below %(limit_mm)s mm is not pathological (RECIST 4.2) "
        "and is not a lesion (%(mm)s mm)."
    ),
    "non_target_required": _("Without target lesions the non-target status is needed."),
    "confirms_not_unequivocal": _("Only an unequivocal new lesion confirms an equivocal one."),
    "no_equivocal_before": _("The assessment before has no equivocal new lesion."),
    "unknown_lesion": _("%(lesion_id)s is not a baseline target lesion."),
    "measured_twice": _("%(lesion_id)s is measured twice."),
    "not_assessed_with_diameter": _("A lesion not assessed has no diameter."),
    "split_node": _("Only non-nodal lesions are recorded as split (RECIST 4.3.2)."),
    "diameter_required/measured": _("Enter the diameter of %(lesion_id)s."),
    "diameter_required/split": _("Enter the sum of the fragments of %(lesion_id)s."),
    "merged_with_diameter": _(
        "A merged lesion counts 0 mm: the coalesced diameter goes on the other."
    ),
    "merged_into_required": _(
        "Name the measured target lesion %(lesion_id)s coalesced with; the coalesced lesion's "
        "longest diameter is recorded there (RECIST 4.3.2)."
    ),
    "too_small_with_diameter": _("'Too small to measure' takes no diameter (%(mm)s mm)."),
    "node_short_axis_required": _("Record the short axis of node %(lesion_id)s (RECIST 4.3.2)."),
    "node_not_normal": _(
        "A node of %(mm)s mm (at least %(limit_mm)s mm) has not returned to normal: record it "
        "as measured."
    ),
    "disappeared_with_diameter": _("A disappeared lesion counts 0 mm: leave it empty."),
}


def error_text(exc: recist.RecistError) -> str:
    """The refusal in the active language (its English ``message`` if the code is unknown)."""
    params = dict(exc.params)
    variant = params.pop("variant", None)
    template = ERROR_TEXTS.get(f"{exc.code}/{variant}" if variant else exc.code)
    if template is None:
        return exc.message
    return str(template) % {name: _shown(name, value) for name, value in params.items()}


def _json_value(value: object) -> object:
    """A parameter as JSON stores it: Decimals as text without trailing zeros ("35", "-4.5")."""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return value


def as_json(note: recist.Note) -> dict:
    """``{"code": ..., "params": {...}}``: how a timepoint stores a note and the API gives it."""
    return {"code": note.code, "params": {k: _json_value(v) for k, v in note.params}}


def _shown(name: str, value: object) -> str:
    if name == "percent":
        return format_signed_pct(value)
    if isinstance(value, (int, Decimal)) or (
        isinstance(value, str) and name.endswith(("_mm", "_pct", "days", "day"))
    ):
        return format_number(value)
    return str(value)


def note_text(note: recist.Note | dict) -> str:
    """The note in the active language, its numbers written the pages' way."""
    if isinstance(note, recist.Note):
        code, params = note.code, note.values
    else:
        code, params = note.get("code", ""), note.get("params") or {}
    template = NOTE_TEXTS.get(code)
    if template is None:
        return str(params.get("text", code))
    return str(template) % {name: _shown(name, value) for name, value in params.items()}


def english_text(note: recist.Note | dict) -> str:
    """The note in English (the API's ``text`` next to the code and parameters)."""
    with translation.override("en"):
        return note_text(note)
