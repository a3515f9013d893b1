"""RECIST 1.1 tumour response of ALTER-S006: baseline validation, timepoint response and best
overall response (BOR) with confirmation.

Source: ``docs/PROTOCOL.md`` ("Schedule": tumour assessment by RECIST 1.1 every 42 days from
C1D1; "Outcomes": ORR counts *confirmed* CR/PR, confirmation >= 4 weeks later, DCR = CR, PR or
SD as BOR) and RECIST 1.1 itself: Eisenhauer EA et al., "New response evaluation criteria in
solid tumours: revised RECIST guideline (version 1.1)", Eur J Cancer 2009;45:228-247 (cited
below as "RECIST" with its section or table numbers). What is followed:

* RECIST 3.1.1 / appendix II (measurability): non-nodal >= 10 mm on CT/MRI when the slice is
  <= 5 mm, otherwise >= 2 x the slice thickness; >= 10 mm by caliper; >= 20 mm on chest X-ray.
  A lymph node is a measurable (target) lesion with short axis >= 15 mm on CT/MRI; 10 to
  < 15 mm is pathological but non-measurable (non-target only); < 10 mm is not pathological
  (RECIST 3.1.1, 3.1.2, 4.2).
* RECIST 4.2: at most 5 target lesions in all and 2 per organ; all lymph nodes together are
  one organ.
* RECIST 4.3.1 / 4.3.2 (target lesions): the sum of diameters is the longest diameter of each
  non-nodal target plus the short axis of each nodal target. CR: every non-nodal target has
  disappeared and every nodal target has short axis < 10 mm (the sum need not be 0). PR: sum
  >= 30 % below the baseline sum. PD: sum >= 20 % above the nadir (the smallest sum so far,
  baseline included) AND at least 5 mm above it. SD otherwise. "Too small to measure" counts
  5 mm; "disappeared" counts 0 mm for a non-nodal lesion, while a node keeps its recorded
  short axis (RECIST 4.3.2).
* RECIST 4.3.2, "Lesions that split or coalesce on treatment" (and appendix II): when a
  non-nodal lesion fragments, the longest diameters of the fragments are added together
  (:attr:`MeasurementKind.SPLIT`, the sum entered as its diameter; nodes do not fragment
  here). When lesions have truly coalesced, the longest diameter of the coalesced lesion is
  the measurement: it is recorded on one of them and the others are
  :attr:`MeasurementKind.MERGED` into it and count 0 mm [convention: the coalesced diameter
  is entered once, so the sum is not counted twice]. The lesion merged into must be measured
  (or split) at the same timepoint.
* RECIST 4.3.3 (non-target lesions): the investigator's single overall judgement of them is
  an input (:class:`NonTargetStatus`); the software cannot judge "unequivocal progression".
* RECIST 4.3.4 (new lesions): an unequivocal new lesion is PD; an equivocal one is not PD yet
  (a note says so). If a later scan confirms it, PD is dated back to the first scan of the
  run of equivocal scans immediately before the confirming one -- see
  :attr:`ScanResponse.confirms_equivocal`.
* RECIST 4.4.1, table 1 (targets with or without non-targets) and table 2 (non-target only
  disease, where "non-CR/non-PD" replaces SD).
* RECIST 4.4.2: a timepoint with a target lesion not assessed is NE, unless the lesions that
  were assessed already show PD on their own (their sum only grows when the rest is added).
* RECIST 4.4.3, table 3, and 4.6 (confirmation required: single-arm trial, PROTOCOL.md ORR):
  a CR or PR counts only when a later scan >= ``P.RESPONSE_CONFIRMATION_MIN_DAYS`` (28) days
  after it shows the same or a better response, every scan in between being at least as good
  or NE. Otherwise the best response is SD (non-CR/non-PD for non-target only disease) if an
  SD-or-better timepoint was measured >= :data:`SD_MIN_DAYS_AFTER_C1D1` days after C1D1,
  else PD if progression was recorded, else NE.

Conventions decided here (RECIST leaves them to the protocol or is silent):

* Millimetres are :class:`~decimal.Decimal`; every threshold is compared exactly (PR is
  ``(baseline - sum) x 10 >= baseline x 3``, PD is ``sum x 5 >= nadir x 6``), so exactly 30 %
  is PR and exactly 20 % is PD (when >= 5 mm). The percentages in the results are rounded to
  0.01 for display only.
* The nadir of a timepoint is the smallest of the baseline sum and the *earlier* complete sums
  (``history_sums``; ``None`` entries, the NE timepoints, are skipped). The caller appends
  :attr:`TimepointResult.sum_mm` to the history for the next timepoint.
* CR is decided before PD: when every target is normal (non-nodal gone, nodes < 10 mm) the
  target response is CR even if nodes that stay < 10 mm grew by 20 % and 5 mm.
* A target with no :class:`Measurement` at a timepoint is "not assessed".
* Nodal targets must be measured on CT or MRI (RECIST 3.1.1: "when assessed by CT scan");
  the 2 x slice rule is applied to non-nodal lesions only.
* Table 3, "CR then PR": the first CR is read as a PR (footnote a, "the original CR should be
  changed to PR") so a PR >= 28 days later confirms a PR.
* Scans on or after the first PD are not used for BOR (progression ends the evaluation); the
  date of a timepoint is the single scan date the caller gives (the earliest scan of it).
* Baseline is not a timepoint: every on-study scan date must be after C1D1.
* Table 3 "CR then SD" / "CR then PD" when the SD minimum is *not* met: the table says PD;
  here the result is PD only when a PD timepoint exists (it gives the PD date), otherwise NE
  with a note -- the software will not invent a progression date.

Pure Python: no Django import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from alter_s006 import protocol as P

# --- Constants alter_s006/protocol.py does not name -------------------------------------------
# RECIST 4.2: "a maximum of five lesions total (and a maximum of two lesions per organ)".
MAX_TARGET_LESIONS = 5
MAX_TARGETS_PER_ORGAN = 2
# RECIST 3.1.1: minimum size of a measurable non-nodal lesion.
MIN_MEASURABLE_CT_MM = Decimal("10")  # CT/MRI with slice thickness <= 5 mm
MAX_STANDARD_SLICE_MM = Decimal("5")  # above this, the minimum is 2 x slice (appendix II)
SLICE_MULTIPLIER = 2
MIN_MEASURABLE_CALIPER_MM = Decimal("10")
MIN_MEASURABLE_CHEST_XRAY_MM = Decimal("20")
# RECIST 3.1.1 / 4.2: lymph node short axis: >= 15 measurable, 10 to < 15 pathological
# non-target, < 10 not pathological (and, on study, "normal": required for CR, RECIST 4.3.1).
NODE_MEASURABLE_MIN_MM = Decimal("15")
NODE_PATHOLOGICAL_MIN_MM = Decimal("10")
# RECIST 4.3.2: "too small to measure" is recorded as a default value of 5 mm.
TOO_SMALL_DEFAULT_MM = Decimal("5")
# RECIST 4.3.1: PR >= 30 % decrease from baseline; PD >= 20 % increase from nadir and >= 5 mm.
PR_DECREASE_PCT = Decimal("30")
PD_INCREASE_PCT = Decimal("20")
PD_MIN_ABSOLUTE_MM = Decimal("5")
# Data-entry sanity limit (not RECIST): no single diameter above half a metre.
MAX_DIAMETER_MM = Decimal("500")
# RECIST 4.4.3 / 4.6: the SD minimum interval is set by the protocol (protocol.py, [default]).
SD_MIN_DAYS_AFTER_C1D1 = P.SD_MIN_DAYS_AFTER_C1D1

_HUNDRED = Decimal("100")
_CENT = Decimal("0.01")
_LYMPH_NODE_ORGAN = "lymph node"


class Response(StrEnum):
    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"
    NON_CR_NON_PD = "non-CR/non-PD"


class NonTargetStatus(StrEnum):
    """The investigator's overall judgement of the non-target lesions (RECIST 4.3.3)."""

    CR = "CR"
    NON_CR_NON_PD = "non-CR/non-PD"
    PD = "PD"
    NOT_EVALUATED = "not evaluated"


class NewLesion(StrEnum):
    NO = "no"
    YES = "yes"
    EQUIVOCAL = "equivocal"


class Method(StrEnum):
    CT = "CT"
    MRI = "MRI"
    CALIPER = "caliper"
    CHEST_XRAY = "chest X-ray"


class MeasurementKind(StrEnum):
    MEASURED = "measured"
    TOO_SMALL = "too small to measure"  # counts TOO_SMALL_DEFAULT_MM (5 mm)
    DISAPPEARED = "disappeared"  # 0 mm non-nodal; a node keeps the short axis entered
    NOT_ASSESSED = "not assessed"
    SPLIT = "split"  # fragmented non-nodal lesion: the fragments' longest diameters, summed
    MERGED = "merged"  # coalesced into another target, which carries the coalesced diameter


@dataclass(frozen=True)
class Lesion:
    """A lesion recorded at baseline. ``diameter_mm`` is the longest diameter of a non-nodal
    lesion or the short axis of a lymph node; it is optional for a non-target lesion.
    ``slice_thickness_mm`` is required for a CT/MRI target."""

    lesion_id: str
    organ: str
    method: Method
    diameter_mm: Decimal | int | None = None
    is_node: bool = False
    slice_thickness_mm: Decimal | int | None = None


@dataclass(frozen=True)
class Measurement:
    """One target lesion at one timepoint (RECIST 4.3.2)."""

    lesion_id: str
    kind: MeasurementKind
    diameter_mm: Decimal | int | None = None
    merged_into: str | None = None  # MERGED: the target lesion the coalesced one is recorded on


@dataclass(frozen=True)
class Note:
    """Why a result is what it is: a stable ``code`` and its parameters, no wording.

    The pages word each code in the reader's language (``assessments.notes``); the API
    answers the code and the parameters. Parameters are numbers (Decimal mm or per cent,
    int days) or ISO dates. Codes:

    * timepoint: ``pr_from_baseline`` (percent, baseline_mm, limit_pct), ``pd_from_nadir``
      (percent, increase_mm, nadir_mm, limit_pct, limit_mm), ``pd_from_zero_nadir``
      (increase_mm, limit_mm), ``sd_between_limits`` (percent, pr_pct, pd_pct, pd_mm),
      ``cr_nodes_normal`` (sum_mm, node_mm), ``target_not_assessed``,
      ``pd_assessed_targets_alone`` (assessed_sum_mm, nadir_mm, limit_pct, limit_mm),
      ``equivocal_new_lesion``, ``new_lesion_pd``;
    * best overall response: ``pd_dated_back`` (date), ``after_first_pd_not_used``,
      ``first_cr_read_as_pr``, ``response_not_confirmed`` (days), ``sd_too_early`` (day),
      ``unconfirmed_cr_then_worse``."""

    code: str
    params: tuple[tuple[str, object], ...] = ()

    @property
    def values(self) -> dict[str, object]:
        return dict(self.params)


def _note(code: str, **params: object) -> Note:
    return Note(code, tuple(params.items()))


@dataclass(frozen=True)
class TimepointResult:
    """Response at one timepoint. ``sum_mm`` is ``None`` when a target was not assessed
    (``assessed_sum_mm`` then holds the sum of those that were); the changes are ``None`` when
    they cannot be computed (incomplete sum, no targets, or a nadir of 0 for the percentage).
    ``target_response`` / ``non_target_response`` are ``None`` when there are no such
    lesions."""

    sum_mm: Decimal | None
    assessed_sum_mm: Decimal
    baseline_sum_mm: Decimal | None
    change_from_baseline_pct: Decimal | None
    nadir_mm: Decimal | None
    change_from_nadir_pct: Decimal | None
    change_from_nadir_mm: Decimal | None
    target_response: Response | None
    non_target_response: Response | None
    new_lesion: NewLesion
    overall: Response
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class ScanResponse:
    """One on-study timepoint for the best overall response.

    ``non_target_only`` marks non-target only disease (table 2). ``confirms_equivocal``: the
    new lesion of this (PD) timepoint confirms the equivocal new lesion of the scans just
    before it, so PD is dated to the first of them (RECIST 4.3.4)."""

    scan_date: date
    overall: Response
    new_lesion: NewLesion = NewLesion.NO
    non_target_only: bool = False
    confirms_equivocal: bool = False

    @classmethod
    def from_result(
        cls, scan_date: date, result: TimepointResult, confirms_equivocal: bool = False
    ) -> ScanResponse:
        return cls(
            scan_date=scan_date,
            overall=result.overall,
            new_lesion=result.new_lesion,
            non_target_only=result.target_response is None,
            confirms_equivocal=confirms_equivocal,
        )


@dataclass(frozen=True)
class BestOverallResponse:
    """RECIST table 3 with confirmation. ``response_date`` is the first scan of the confirmed
    CR/PR and ``confirmed_on`` the confirming scan (both ``None`` otherwise);
    ``first_pd_date`` the date progression is dated to (``None`` without PD)."""

    response: Response
    response_date: date | None
    confirmed_on: date | None
    first_pd_date: date | None
    notes: tuple[Note, ...] = ()


class RecistError(ValueError):
    """Data RECIST 1.1 refuses, tied to the input field at fault: a stable ``code`` and its
    ``params`` (the pages word them in the reader's language, ``assessments.notes``), and
    ``message``, the same in English."""

    def __init__(self, field: str, message: str, code: str = "recist", **params: object) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code
        self.params = params


# --- Helpers ------------------------------------------------------------------------------------


def _mm(value: object, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise RecistError(
            field, f"A diameter must be a whole number or Decimal of mm: {value!r}.", "invalid"
        )
    mm = Decimal(value)
    if not mm.is_finite():
        raise RecistError(field, "A diameter must be a finite number of mm.", "invalid")
    if mm < 0:
        raise RecistError(field, f"A diameter cannot be negative ({mm} mm).", "diameter_negative")
    if mm > MAX_DIAMETER_MM:
        raise RecistError(
            field,
            f"{mm} mm is above the {MAX_DIAMETER_MM} mm limit: check entry.",
            "diameter_implausible",
            mm=mm,
            limit_mm=MAX_DIAMETER_MM,
        )
    return mm


def _pct(part: Decimal, whole: Decimal) -> Decimal:
    return (part * _HUNDRED / whole).quantize(_CENT, rounding=ROUND_HALF_UP)


def _organ_key(lesion: Lesion) -> str:
    return _LYMPH_NODE_ORGAN if lesion.is_node else lesion.organ.strip().casefold()


def _min_measurable(lesion: Lesion, field: str) -> Decimal:
    """Smallest measurable longest diameter of a non-nodal lesion (RECIST 3.1.1, appendix II)."""
    if lesion.method in (Method.CT, Method.MRI):
        if lesion.slice_thickness_mm is None:
            raise RecistError(
                f"{field}.slice_thickness_mm",
                "Enter the slice thickness of the CT/MRI.",
                "slice_required",
            )
        slice_mm = _mm(lesion.slice_thickness_mm, f"{field}.slice_thickness_mm")
        if slice_mm == 0:
            raise RecistError(
                f"{field}.slice_thickness_mm", "A slice thickness cannot be 0 mm.", "slice_zero"
            )
        if slice_mm <= MAX_STANDARD_SLICE_MM:
            return MIN_MEASURABLE_CT_MM
        return max(MIN_MEASURABLE_CT_MM, SLICE_MULTIPLIER * slice_mm)
    if lesion.method == Method.CALIPER:
        return MIN_MEASURABLE_CALIPER_MM
    return MIN_MEASURABLE_CHEST_XRAY_MM


# --- Baseline -----------------------------------------------------------------------------------


def baseline_scan_in_window(scan: date, c1d1: date) -> bool:
    """A baseline scan is on or before C1D1 and at most ``P.SCREENING_MAX_DAYS_BEFORE_C1D1``
    (28) days before it (RECIST 3.2: "never more than 4 weeks before the beginning of the
    treatment"; PROTOCOL.md: baseline within the 28-day screening window)."""
    return 0 <= (c1d1 - scan).days <= P.SCREENING_MAX_DAYS_BEFORE_C1D1


def check_confirms_equivocal(
    confirms: bool, new_lesion: NewLesion, previous: NewLesion | None
) -> None:
    """Marking a new lesion as the confirmation of an equivocal one (RECIST 4.3.4): only an
    unequivocal new lesion confirms, and only an equivocal new lesion on the assessment just
    before. ``previous`` is the new-lesion answer of that assessment (None if there is none)."""
    if not confirms:
        return
    if new_lesion != NewLesion.YES:
        raise RecistError(
            "confirms_equivocal",
            "Only an unequivocal new lesion confirms an equivocal one.",
            "confirms_not_unequivocal",
        )
    if previous != NewLesion.EQUIVOCAL:
        raise RecistError(
            "confirms_equivocal",
            "The assessment before has no equivocal new lesion.",
            "no_equivocal_before",
        )


def validate_baseline(targets: Sequence[Lesion], non_targets: Sequence[Lesion]) -> None:
    """Refuse a baseline RECIST 1.1 does not allow (RECIST 3.1, 4.2); return ``None`` if valid.

    Raises the first of :func:`baseline_problems`."""
    problems = baseline_problems(targets, non_targets)
    if problems:
        raise problems[0]


def baseline_problems(targets: Sequence[Lesion], non_targets: Sequence[Lesion]) -> list:
    """Every reason RECIST 1.1 refuses this baseline (RECIST 3.1, 4.2), the first one per field;
    an empty list if it is valid.

    Fields are named ``targets[i].attribute`` / ``non_targets[i].attribute`` (0-based)."""
    if not targets and not non_targets:
        return [
            RecistError("targets", "Record at least one target or non-target lesion.", "no_lesion")
        ]
    problems: list[RecistError] = []
    seen: set[str] = set()
    for group, lesions in (("targets", targets), ("non_targets", non_targets)):
        for i, lesion in enumerate(lesions):
            problems.extend(_identity_problems(lesion, f"{group}[{i}]", seen))
    if len(targets) > MAX_TARGET_LESIONS:
        problems.append(
            RecistError(
                f"targets[{MAX_TARGET_LESIONS}]",
                f"At most {MAX_TARGET_LESIONS} target lesions (RECIST 4.2); record the others "
                "as non-target lesions.",
                "too_many_targets",
                max=MAX_TARGET_LESIONS,
            )
        )
    per_organ: dict[str, int] = {}
    for i, lesion in enumerate(targets):
        key = _organ_key(lesion)
        per_organ[key] = per_organ.get(key, 0) + 1
        if per_organ[key] > MAX_TARGETS_PER_ORGAN:
            problems.append(
                RecistError(
                    f"targets[{i}].organ",
                    f"At most {MAX_TARGETS_PER_ORGAN} target lesions per organ (RECIST 4.2; all "
                    f"lymph nodes are one organ): {lesion.lesion_id} is the third in {key}.",
                    "too_many_targets_in_organ",
                    max=MAX_TARGETS_PER_ORGAN,
                    lesion_id=lesion.lesion_id,
                    organ=key,
                )
            )
        try:
            _check_target(lesion, f"targets[{i}]")
        except RecistError as exc:
            problems.append(exc)
    for i, lesion in enumerate(non_targets):
        if lesion.is_node and lesion.diameter_mm is not None:
            size = Decimal(lesion.diameter_mm)
            if size < NODE_PATHOLOGICAL_MIN_MM:
                problems.append(
                    RecistError(
                        f"non_targets[{i}].diameter_mm",
                        f"A lymph node with short axis < {NODE_PATHOLOGICAL_MIN_MM} mm is not "
                        f"pathological (RECIST 4.2) and is not a lesion ({size} mm).",
                        "node_not_pathological",
                        mm=size,
                        limit_mm=NODE_PATHOLOGICAL_MIN_MM,
                    )
                )
    first = {}
    for problem in problems:  # a diameter refused as a number is not refused again as a size
        first.setdefault(problem.field, problem)
    return list(first.values())


def _identity_problems(lesion: Lesion, field: str, seen: set[str]) -> list:
    """An identifier, once; an organ (a node's is "lymph node"); a plausible diameter."""
    problems = []
    if not lesion.lesion_id.strip():
        problems.append(
            RecistError(
                f"{field}.lesion_id", "Every lesion needs an identifier.", "lesion_id_required"
            )
        )
    elif lesion.lesion_id in seen:
        problems.append(
            RecistError(
                f"{field}.lesion_id",
                f"Lesion {lesion.lesion_id} is recorded twice.",
                "lesion_id_duplicate",
                lesion_id=lesion.lesion_id,
            )
        )
    seen.add(lesion.lesion_id)
    if not lesion.is_node and not lesion.organ.strip():
        problems.append(
            RecistError(f"{field}.organ", "Enter the organ of the lesion.", "organ_required")
        )
    if lesion.diameter_mm is not None:
        try:
            _mm(lesion.diameter_mm, f"{field}.diameter_mm")
        except RecistError as exc:
            problems.append(exc)
    return problems


def _check_target(lesion: Lesion, field: str) -> None:
    """A target lesion is measured and measurable (RECIST 3.1.1); a target node on CT/MRI."""
    if lesion.diameter_mm is None:
        raise RecistError(
            f"{field}.diameter_mm", "A target lesion must be measured.", "target_unmeasured"
        )
    size = _mm(lesion.diameter_mm, f"{field}.diameter_mm")
    if lesion.is_node:
        if lesion.method not in (Method.CT, Method.MRI):
            raise RecistError(
                f"{field}.method", "A target lymph node is measured on CT or MRI.", "node_method"
            )
        if size < NODE_MEASURABLE_MIN_MM:
            where = (
                "record it as a non-target lesion"
                if size >= NODE_PATHOLOGICAL_MIN_MM
                else "it is not pathological"
            )
            raise RecistError(
                f"{field}.diameter_mm",
                f"A target lymph node needs a short axis >= {NODE_MEASURABLE_MIN_MM} mm "
                f"(RECIST 3.1.1); {size} mm: {where}.",
                "node_not_measurable",
                mm=size,
                minimum_mm=NODE_MEASURABLE_MIN_MM,
                variant="non_target" if size >= NODE_PATHOLOGICAL_MIN_MM else "not_pathological",
            )
        return
    minimum = _min_measurable(lesion, field)
    if size < minimum:
        raise RecistError(
            f"{field}.diameter_mm",
            f"{size} mm is not measurable by {lesion.method} (minimum {minimum} mm, "
            "RECIST 3.1.1); record it as a non-target lesion.",
            "not_measurable",
            mm=size,
            method=str(lesion.method),
            minimum_mm=minimum,
        )


# --- Timepoint ----------------------------------------------------------------------------------


def _pd_by_sum(total: Decimal, nadir: Decimal) -> bool:
    """RECIST 4.3.1: >= 20 % above the nadir and >= 5 mm above it (exact arithmetic)."""
    return (
        total * _HUNDRED >= nadir * (_HUNDRED + PD_INCREASE_PCT)
        and total - nadir >= PD_MIN_ABSOLUTE_MM
    )


def _target_values(
    baseline_targets: Sequence[Lesion], measurements: Sequence[Measurement]
) -> list[tuple[Lesion, Decimal | None]]:
    """Each target with its value for the sum (``None`` = not assessed), RECIST 4.3.2."""
    by_id: dict[str, Measurement] = {}
    known = {lesion.lesion_id for lesion in baseline_targets}
    for i, m in enumerate(measurements):
        field = f"measurements[{i}]"
        if m.lesion_id not in known:
            raise RecistError(
                f"{field}.lesion_id",
                f"{m.lesion_id} is not a baseline target lesion.",
                "unknown_lesion",
                lesion_id=m.lesion_id,
            )
        if m.lesion_id in by_id:
            raise RecistError(
                f"{field}.lesion_id",
                f"{m.lesion_id} is measured twice.",
                "measured_twice",
                lesion_id=m.lesion_id,
            )
        by_id[m.lesion_id] = m
    values: list[tuple[Lesion, Decimal | None]] = []
    for lesion in baseline_targets:
        m = by_id.get(lesion.lesion_id)
        i = next((k for k, x in enumerate(measurements) if x.lesion_id == lesion.lesion_id), -1)
        field = f"measurements[{i}].diameter_mm"
        if m is None or m.kind == MeasurementKind.NOT_ASSESSED:
            if m is not None and m.diameter_mm is not None:
                raise RecistError(
                    field, "A lesion not assessed has no diameter.", "not_assessed_with_diameter"
                )
            values.append((lesion, None))
        elif m.kind in (MeasurementKind.MEASURED, MeasurementKind.SPLIT):
            if m.kind == MeasurementKind.SPLIT and lesion.is_node:
                raise RecistError(
                    f"measurements[{i}].kind",
                    "Only non-nodal lesions are recorded as split (RECIST 4.3.2).",
                    "split_node",
                )
            if m.diameter_mm is None:
                what = "sum of the fragments" if m.kind == MeasurementKind.SPLIT else "diameter"
                raise RecistError(
                    field,
                    f"Enter the {what} of {lesion.lesion_id}.",
                    "diameter_required",
                    lesion_id=lesion.lesion_id,
                    variant=m.kind.name.lower(),
                )
            values.append((lesion, _mm(m.diameter_mm, field)))
        elif m.kind == MeasurementKind.MERGED:
            into = by_id.get(m.merged_into or "")
            if m.diameter_mm not in (None, 0):
                raise RecistError(
                    field,
                    "A merged lesion counts 0 mm: the coalesced diameter goes on the other.",
                    "merged_with_diameter",
                )
            if (
                into is None
                or into.lesion_id == lesion.lesion_id
                or into.kind not in (MeasurementKind.MEASURED, MeasurementKind.SPLIT)
            ):
                raise RecistError(
                    f"measurements[{i}].merged_into",
                    f"Name the measured target lesion {lesion.lesion_id} coalesced with; the "
                    "coalesced lesion's longest diameter is recorded there (RECIST 4.3.2).",
                    "merged_into_required",
                    lesion_id=lesion.lesion_id,
                )
            values.append((lesion, Decimal(0)))
        elif m.kind == MeasurementKind.TOO_SMALL:
            if m.diameter_mm is not None:
                raise RecistError(
                    field,
                    "'Too small to measure' takes no diameter (5 mm).",
                    "too_small_with_diameter",
                    mm=TOO_SMALL_DEFAULT_MM,
                )
            values.append((lesion, TOO_SMALL_DEFAULT_MM))
        elif lesion.is_node:  # DISAPPEARED node: its actual short axis is recorded
            if m.diameter_mm is None:
                raise RecistError(
                    field,
                    f"Record the short axis of node {lesion.lesion_id} (RECIST 4.3.2).",
                    "node_short_axis_required",
                    lesion_id=lesion.lesion_id,
                )
            size = _mm(m.diameter_mm, field)
            if size >= NODE_PATHOLOGICAL_MIN_MM:
                raise RecistError(
                    field,
                    f"A node of {size} mm (>= {NODE_PATHOLOGICAL_MIN_MM} mm) has not returned "
                    "to normal: record it as measured.",
                    "node_not_normal",
                    mm=size,
                    limit_mm=NODE_PATHOLOGICAL_MIN_MM,
                )
            values.append((lesion, size))
        else:
            if m.diameter_mm not in (None, 0):
                raise RecistError(
                    field,
                    "A disappeared lesion counts 0 mm: leave it empty.",
                    "disappeared_with_diameter",
                )
            values.append((lesion, Decimal(0)))
    return values


def _pd_note(total: Decimal, nadir: Decimal) -> Note:
    """Why the sum is PD: its rise over the nadir in per cent and in mm (RECIST 4.3.1)."""
    if nadir == 0:
        return _note("pd_from_zero_nadir", increase_mm=total, limit_mm=PD_MIN_ABSOLUTE_MM)
    return _note(
        "pd_from_nadir",
        percent=_pct(total - nadir, nadir),
        increase_mm=total - nadir,
        nadir_mm=nadir,
        limit_pct=PD_INCREASE_PCT,
        limit_mm=PD_MIN_ABSOLUTE_MM,
    )


def _table1(target: Response, non_target: Response | None, new: bool) -> Response:
    """RECIST table 1 (target lesions, with or without non-target lesions)."""
    if new or target == Response.PD or non_target == Response.PD:
        return Response.PD
    if target == Response.NE:
        return Response.NE
    if target == Response.CR:
        return Response.CR if non_target in (None, Response.CR) else Response.PR
    return target  # PR or SD with non-target non-PD or NE


def _table2(non_target: Response, new: bool) -> Response:
    """RECIST table 2 (non-target lesions only)."""
    if new or non_target == Response.PD:
        return Response.PD
    return non_target  # CR, non-CR/non-PD or NE


_NON_TARGET_MAP = {
    NonTargetStatus.CR: Response.CR,
    NonTargetStatus.NON_CR_NON_PD: Response.NON_CR_NON_PD,
    NonTargetStatus.PD: Response.PD,
    NonTargetStatus.NOT_EVALUATED: Response.NE,
}


def evaluate_timepoint(
    baseline_targets: Sequence[Lesion],
    history_sums: Sequence[Decimal | int | None],
    measurements: Sequence[Measurement],
    non_target: NonTargetStatus | None,
    new_lesion: NewLesion,
) -> TimepointResult:
    """Response at one timepoint (RECIST 4.3, 4.4.1 tables 1 and 2, 4.4.2).

    ``history_sums`` are the sums of the earlier on-study timepoints (``None`` for an NE one),
    not the baseline. ``non_target`` is ``None`` when there were no non-target lesions at
    baseline. The baseline targets are re-validated."""
    if not baseline_targets and non_target is None:
        raise RecistError(
            "non_target",
            "Without target lesions the non-target status is needed.",
            "non_target_required",
        )
    if baseline_targets:
        validate_baseline(baseline_targets, ())
    notes: list[Note] = []
    new = new_lesion == NewLesion.YES
    if new_lesion == NewLesion.EQUIVOCAL:
        notes.append(_note("equivocal_new_lesion"))
    non_target_response = None if non_target is None else _NON_TARGET_MAP[non_target]

    if not baseline_targets:
        assert non_target_response is not None
        overall = _table2(non_target_response, new)
        return TimepointResult(
            sum_mm=None,
            assessed_sum_mm=Decimal(0),
            baseline_sum_mm=None,
            change_from_baseline_pct=None,
            nadir_mm=None,
            change_from_nadir_pct=None,
            change_from_nadir_mm=None,
            target_response=None,
            non_target_response=non_target_response,
            new_lesion=new_lesion,
            overall=overall,
            notes=tuple(notes),
        )

    baseline_sum = sum((_mm(t.diameter_mm, "targets") for t in baseline_targets), Decimal(0))
    earlier = [_mm(s, f"history_sums[{i}]") for i, s in enumerate(history_sums) if s is not None]
    nadir = min([baseline_sum, *earlier])
    values = _target_values(baseline_targets, measurements)
    assessed_sum = sum((v for _, v in values if v is not None), Decimal(0))
    complete = all(v is not None for _, v in values)

    total: Decimal | None = assessed_sum if complete else None
    if total is None:
        if _pd_by_sum(assessed_sum, nadir):
            target_response = Response.PD
            notes.append(
                _note(
                    "pd_assessed_targets_alone",
                    assessed_sum_mm=assessed_sum,
                    nadir_mm=nadir,
                    limit_pct=PD_INCREASE_PCT,
                    limit_mm=PD_MIN_ABSOLUTE_MM,
                )
            )
        else:
            target_response = Response.NE
            notes.append(_note("target_not_assessed"))
    elif all(v == 0 for lesion, v in values if not lesion.is_node) and all(
        v < NODE_PATHOLOGICAL_MIN_MM for lesion, v in values if lesion.is_node
    ):
        target_response = Response.CR
        if total > 0:
            notes.append(_note("cr_nodes_normal", sum_mm=total, node_mm=NODE_PATHOLOGICAL_MIN_MM))
    elif _pd_by_sum(total, nadir):
        target_response = Response.PD
        notes.append(_pd_note(total, nadir))
    elif (baseline_sum - total) * _HUNDRED >= baseline_sum * PR_DECREASE_PCT:
        target_response = Response.PR
        notes.append(
            _note(
                "pr_from_baseline",
                percent=_pct(total - baseline_sum, baseline_sum),
                baseline_mm=baseline_sum,
                limit_pct=PR_DECREASE_PCT,
            )
        )
    else:
        target_response = Response.SD
        notes.append(
            _note(
                "sd_between_limits",
                percent=_pct(total - baseline_sum, baseline_sum),
                pr_pct=PR_DECREASE_PCT,
                pd_pct=PD_INCREASE_PCT,
                pd_mm=PD_MIN_ABSOLUTE_MM,
            )
        )

    overall = _table1(target_response, non_target_response, new)
    if new and target_response != Response.PD:
        notes.append(_note("new_lesion_pd"))
    return TimepointResult(
        sum_mm=total,
        assessed_sum_mm=assessed_sum,
        baseline_sum_mm=baseline_sum,
        change_from_baseline_pct=None
        if total is None
        else _pct(total - baseline_sum, baseline_sum),
        nadir_mm=nadir,
        change_from_nadir_pct=(None if total is None or nadir == 0 else _pct(total - nadir, nadir)),
        change_from_nadir_mm=None if total is None else total - nadir,
        target_response=target_response,
        non_target_response=non_target_response,
        new_lesion=new_lesion,
        overall=overall,
        notes=tuple(notes),
    )


# --- Best overall response ----------------------------------------------------------------------

_LEVEL = {Response.CR: 2, Response.PR: 1}
_SD_OR_BETTER = (Response.CR, Response.PR, Response.SD, Response.NON_CR_NON_PD)


def best_overall_response(c1d1: date, timepoints: Sequence[ScanResponse]) -> BestOverallResponse:
    """Best overall response with confirmation (RECIST 4.4.3 table 3, 4.6; PROTOCOL.md ORR).

    ``timepoints`` are the on-study timepoints in date order, all after ``c1d1``."""
    for i, tp in enumerate(timepoints):
        if tp.scan_date <= c1d1:
            raise RecistError(
                f"timepoints[{i}].scan_date",
                "An on-study assessment is dated after C1D1.",
                "scan_not_after_c1d1",
            )
        if i and tp.scan_date <= timepoints[i - 1].scan_date:
            raise RecistError(
                f"timepoints[{i}].scan_date",
                "Timepoints must be in strictly increasing order.",
                "timepoints_out_of_order",
            )
    notes: list[Note] = []
    responses = [tp.overall for tp in timepoints]

    # First PD, dated back over a confirmed equivocal new lesion (RECIST 4.3.4).
    first_pd = next((i for i, r in enumerate(responses) if r == Response.PD), None)
    if first_pd is not None:
        tp = timepoints[first_pd]
        if tp.confirms_equivocal:
            if tp.new_lesion != NewLesion.YES:
                raise RecistError(
                    f"timepoints[{first_pd}].confirms_equivocal",
                    "Only an unequivocal new lesion confirms an earlier equivocal one.",
                    "confirms_not_unequivocal",
                )
            start = first_pd
            while start > 0 and timepoints[start - 1].new_lesion == NewLesion.EQUIVOCAL:
                start -= 1
            if start == first_pd:
                raise RecistError(
                    f"timepoints[{first_pd}].confirms_equivocal",
                    "The scan before has no equivocal new lesion to confirm.",
                    "no_equivocal_before",
                )
            notes.append(_note("pd_dated_back", date=timepoints[start].scan_date.isoformat()))
            first_pd = start
        if first_pd < len(timepoints) - 1:
            notes.append(_note("after_first_pd_not_used"))
        responses = responses[:first_pd] + [Response.PD]
    first_pd_date = None if first_pd is None else timepoints[first_pd].scan_date

    # Confirmed CR/PR: a later scan >= 28 days on at the same or a better level, every scan in
    # between at that level or better, or NE.
    best: tuple[int, int, int] | None = None  # (level, first index, confirming index)
    for i, r in enumerate(responses):
        if r not in _LEVEL:
            continue
        for level in (2, 1):
            if _LEVEL[r] < level:
                continue
            for j in range(i + 1, len(responses)):
                rj = responses[j]
                if _LEVEL.get(rj, 0) < level and rj != Response.NE:
                    break
                days = (timepoints[j].scan_date - timepoints[i].scan_date).days
                if _LEVEL.get(rj, 0) >= level and days >= P.RESPONSE_CONFIRMATION_MIN_DAYS:
                    if best is None or level > best[0]:
                        best = (level, i, j)
                    break
            if best is not None and best[0] >= level:
                break
    if best is not None:
        level, i, j = best
        response = Response.CR if level == 2 else Response.PR
        if level == 1 and responses[i] == Response.CR:
            notes.append(_note("first_cr_read_as_pr"))
        return BestOverallResponse(
            response=response,
            response_date=timepoints[i].scan_date,
            confirmed_on=timepoints[j].scan_date,
            first_pd_date=first_pd_date,
            notes=tuple(notes),
        )
    if any(r in _LEVEL for r in responses):
        notes.append(_note("response_not_confirmed", days=P.RESPONSE_CONFIRMATION_MIN_DAYS))

    stable = [
        k
        for k, r in enumerate(responses)
        if r in _SD_OR_BETTER and (timepoints[k].scan_date - c1d1).days >= SD_MIN_DAYS_AFTER_C1D1
    ]
    if stable:
        non_target_only = all(timepoints[k].non_target_only for k in stable)
        response = Response.NON_CR_NON_PD if non_target_only else Response.SD
    elif first_pd_date is not None:
        response = Response.PD
        if any(r in _SD_OR_BETTER for r in responses):
            notes.append(_note("sd_too_early", day=SD_MIN_DAYS_AFTER_C1D1))
    else:
        response = Response.NE
        if Response.CR in responses:
            notes.append(_note("unconfirmed_cr_then_worse"))
    return BestOverallResponse(
        response=response,
        response_date=None,
        confirmed_on=None,
        first_pd_date=first_pd_date,
        notes=tuple(notes),
    )
