"""Eligibility rules of ALTER-S006: inclusion I01-I09 and exclusion E01-E16.

Source: ``docs/PROTOCOL.md``, section "Eligibility" (one rule per line there, one function
here, each citing its line). Every threshold comes from :mod:`alter_s006.protocol`; the few
the protocol file does not name are defined below with the PROTOCOL.md line they come from.

Meaning of a status -- the same word for both kinds, so that "everything MET or ATTESTED" is
"eligible":

* For an **inclusion** criterion, ``MET`` means the subject satisfies it.
* For an **exclusion** criterion, ``MET`` means the subject is *free* of it (the excluding
  condition is absent) and ``NOT_MET`` means the exclusion applies.
* ``ATTESTED`` is a judgement criterion (I04, E11, E16) the investigator has answered in the
  subject's favour; it passes like ``MET``, but the software cannot check it.
* ``NOT_EVALUABLE``: the data the rule needs is missing (or unusable, e.g. a unit the analyte
  does not take). Missing data is never silently "met" (PROTOCOL.md, last paragraph of
  "Eligibility").

A criterion made of parts (I05, I07, I08 analytes, I09, E03, E09 (a)-(g), E12) is ``NOT_MET``
if any part fails (the reason lists every failing part), else ``NOT_EVALUABLE`` if any part is
missing (the reason lists what is missing), else ``MET``; parts are separated by " | " in the
reason. The renal part of I08 (creatinine *or* clearance) passes if either passes.

Conventions decided here (the protocol is silent):

* Age (I02) is in completed years on the consent date; a birthday on that day counts. A person
  born on 29 February attains an age on **1 March** in a year that is not a leap year (the
  statutory rule of e.g. Maryland General Provisions section 1-303(b); the UK/Hong Kong
  "commencement of the anniversary" reading gives the same day).
* Day counts are calendar days ``(later - earlier).days``: "within 28 days before enrolment"
  excludes 0-27 days and allows exactly 28 (E03, E10, E15).
* "Controlled for >= 2 months" (E07) uses calendar months with :func:`add_months` (31 Dec + 2
  months is 28/29 Feb).
* Lab values are converted by :mod:`eligibility.units`, never by the person entering them; ULN
  rules compare ``value <= k x ULN`` with both in the analyte's canonical unit (all the factors
  involved are exact multiplications).
* Numbers in reasons are shown to 2 decimals; when that would print a value equal to the limit
  although the comparison went the other way, more decimals are shown.

Pure Python: no Django import.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from alter_s006 import protocol as P
from eligibility.units import CANONICAL, LABELS, UnitError, convert, normalise_unit
from subjects.schedule import add_months

# --- Constants alter_s006/protocol.py does not name -------------------------------------------
# PROTOCOL.md I03: ECOG is a 0-5 scale; anything outside it is a data error, not a grade.
ECOG_SCALE_MAX = 5
# PROTOCOL.md I07: "PR or SD after >= 4 cycles".
BEST_RESPONSES_ALLOWED = ("PR", "SD")
BEST_RESPONSES = ("CR", "PR", "SD", "PD")
# PROTOCOL.md E09 (e): hepatitis C with "abnormal liver function" = ALT or AST above the ULN.
HCV_LIVER_FUNCTION_MAX_X_ULN = Decimal("1")
# PROTOCOL.md E09 (f): dipstick read as 0 (negative/trace) to 4 (++++).
URINE_DIPSTICK_MAX = 4
# PROTOCOL.md I06.
DISEASE_STATUSES_ALLOWED = ("measurable", "evaluable")
# PROTOCOL.md E03: only extended-field radiotherapy has a washout.
RADIOTHERAPY_TYPES = ("none", "local", "extended_field")
# PROTOCOL.md E07.
BRAIN_METASTASES_STATES = ("none", "controlled", "uncontrolled")

HISTOLOGY_ALLOWED: dict[str, str] = {
    "synovial_sarcoma": "Synovial sarcoma",
    "leiomyosarcoma": "Leiomyosarcoma",
    "liposarcoma": "Liposarcoma",
    "angiosarcoma": "Angiosarcoma",
    "other_sts": "Other soft-tissue sarcoma (specify)",
}
"""PROTOCOL.md I05: the named eligible subtypes, and "other subtypes" (to be specified)."""

HISTOLOGY_EXCLUDED: dict[str, str] = {
    "mpnst": "Malignant peripheral nerve sheath tumour",
    "undifferentiated_sarcoma": "Undifferentiated sarcoma",
    "rhabdomyosarcoma": "Rhabdomyosarcoma",
    "chondrosarcoma": "Chondrosarcoma",
    "osteosarcoma": "Osteosarcoma",
    "dfsp": "Dermatofibrosarcoma protuberans",
    "gist": "Gastrointestinal stromal tumour (GIST)",
    "ewing_pnet": "Ewing sarcoma / PNET",
    "imt": "Inflammatory myofibroblastic tumour",
    "mesothelioma": "Malignant mesothelioma",
}
"""PROTOCOL.md I05: the subtypes listed after "EXCEPT"."""

_DIPSTICK = {0: "negative/trace", 1: "+", 2: "++", 3: "+++", 4: "++++"}


class Status(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    NOT_EVALUABLE = "not_evaluable"
    ATTESTED = "attested"


class Kind(StrEnum):
    INCLUSION = "inclusion"
    EXCLUSION = "exclusion"


CRITERIA: tuple[tuple[str, Kind, str], ...] = (
    ("I01", Kind.INCLUSION, "Signed, dated informed consent before any study procedure"),
    ("I02", Kind.INCLUSION, f"Age {P.AGE_MIN_YEARS}-{P.AGE_MAX_YEARS} years at consent"),
    ("I03", Kind.INCLUSION, f"ECOG performance status 0-{P.ECOG_MAX}"),
    (
        "I04",
        Kind.INCLUSION,
        f"Expected survival > {P.EXPECTED_SURVIVAL_MIN_MONTHS} months (investigator judgement)",
    ),
    ("I05", Kind.INCLUSION, "Pathologically confirmed advanced STS of an eligible subtype"),
    ("I06", Kind.INCLUSION, "Measurable or evaluable disease (RECIST 1.1)"),
    (
        "I07",
        Kind.INCLUSION,
        f"PR or SD after >= {P.MIN_PRIOR_ANTHRACYCLINE_CYCLES} cycles of first-line "
        "anthracycline chemotherapy",
    ),
    ("I08", Kind.INCLUSION, "Adequate organ function"),
    (
        "I09",
        Kind.INCLUSION,
        "Contraception agreed; women of childbearing potential not lactating, negative "
        f"pregnancy test within {P.PREGNANCY_TEST_MAX_DAYS_BEFORE_FIRST_DOSE} days before C1D1",
    ),
    ("E01", Kind.EXCLUSION, "Prior anlotinib"),
    ("E02", Kind.EXCLUSION, f"Another malignancy within {P.PRIOR_MALIGNANCY_YEARS} years"),
    (
        "E03",
        Kind.EXCLUSION,
        f"Systemic anti-tumour therapy within {P.SYSTEMIC_THERAPY_WASHOUT_DAYS} days or planned; "
        f"extended-field radiotherapy within {P.RADIOTHERAPY_WASHOUT_DAYS} days",
    ),
    ("E04", Kind.EXCLUSION, "Unresolved toxicity > CTCAE grade 1 (alopecia excepted)"),
    ("E05", Kind.EXCLUSION, "Condition preventing oral medication"),
    ("E06", Kind.EXCLUSION, "Pleural effusion or ascites with dyspnoea > CTCAE grade 2"),
    (
        "E07",
        Kind.EXCLUSION,
        "Brain metastases not controlled, or controlled for "
        f"< {P.BRAIN_METS_CONTROLLED_MIN_MONTHS} months",
    ),
    ("E08", Kind.EXCLUSION, "Thyroid dysfunction despite best supportive treatment"),
    ("E09", Kind.EXCLUSION, "Severe uncontrolled disease (a-g)"),
    (
        "E10",
        Kind.EXCLUSION,
        "Surgery, incisional biopsy or significant trauma within "
        f"{P.SURGERY_WASHOUT_DAYS} days before enrolment",
    ),
    (
        "E11",
        Kind.EXCLUSION,
        "Tumour likely to invade major vessels or cause fatal haemorrhage, or tumour thrombus "
        "in large veins (investigator judgement)",
    ),
    (
        "E12",
        Kind.EXCLUSION,
        "Unhealed major wound, ulcer or fracture; bleeding > CTCAE grade 3 within "
        f"{P.BLEEDING_LOOKBACK_DAYS} days",
    ),
    (
        "E13",
        Kind.EXCLUSION,
        f"Arterial or venous thrombosis within {P.THROMBOSIS_LOOKBACK_MONTHS} months",
    ),
    ("E14", Kind.EXCLUSION, "Psychotropic substance abuse or mental disorder"),
    (
        "E15",
        Kind.EXCLUSION,
        f"Another anti-tumour trial within {P.OTHER_TRIAL_WASHOUT_DAYS} days before enrolment",
    ),
    (
        "E16",
        Kind.EXCLUSION,
        "Other condition the investigator judges unsafe (investigator judgement)",
    ),
)
"""(code, kind, title) of every criterion, in the order of PROTOCOL.md."""

_ORDER = {code: index for index, (code, _kind, _title) in enumerate(CRITERIA)}


# --- Data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefRange:
    """A reference range of one site laboratory for one analyte (PROTOCOL.md I08)."""

    analyte: str
    unit: str
    lln: Decimal | None
    uln: Decimal | None
    sex: str | None
    valid_from: date
    valid_to: date | None = None  # last day in force (inclusive); None = until superseded


@dataclass(frozen=True)
class Lab:
    """One lab value as entered, in the unit it was reported in."""

    value: Decimal | None
    unit: str | None


_NO_LAB = Lab(None, None)


@dataclass(frozen=True, kw_only=True)
class ScreeningInput:
    """Everything the rules read; every field optional (``None`` = not entered).

    Yes/no questions of the exclusions are phrased so that ``True`` means the condition IS
    present. ``surgery_none`` / ``other_trial_none`` say "never" explicitly, so that a blank
    date is not mistaken for "no surgery" / "no other trial".

    Carried for the record but not part of any rule: ``echo_date`` (I08 states no window for
    the echocardiogram), ``on_antihypertensives`` (E09 (a) excludes on the pressures "despite
    optimal treatment", whatever the treatment) and ``pregnancy_test_type`` (serum or urine
    both count; shown in the I09 reason).
    """

    sex: str | None = None  # "F" / "M"
    date_of_birth: date | None = None
    year_of_birth: int | None = None
    consent_date: date | None = None
    first_procedure_date: date | None = None
    enrolment_date: date | None = None
    planned_c1d1: date | None = None
    ecog: int | None = None
    expected_survival_attested: bool | None = None  # I04 judgement
    pathologically_confirmed: bool | None = None  # I05
    histology: str | None = None
    histology_other: str = ""
    advanced_or_metastatic: bool | None = None
    disease_status: str | None = None  # I06: "measurable" | "evaluable" | "none"
    liver_metastases: bool | None = None
    brain_metastases: str | None = None  # E07: "none" | "controlled" | "uncontrolled"
    brain_metastases_controlled_since: date | None = None
    anthracycline_first_line: bool | None = None  # I07
    anthracycline_cycles: int | None = None
    best_response: str | None = None  # "CR", "PR", "SD", "PD"
    last_systemic_therapy_date: date | None = None  # E03
    systemic_therapy_planned: bool | None = None
    radiotherapy_type: str | None = None  # "none" | "local" | "extended_field"
    radiotherapy_date: date | None = None
    surgery_date: date | None = None  # E10 surgery / incisional biopsy / major trauma
    surgery_none: bool | None = None  # E10: True = none ever recorded
    prior_anlotinib: bool | None = None  # E01
    other_trial_date: date | None = None  # E15 last participation in another anti-tumour trial
    other_trial_none: bool | None = None  # E15: True = never
    lab_date: date | None = None
    hb: Lab = _NO_LAB
    anc: Lab = _NO_LAB
    plt: Lab = _NO_LAB
    creatinine: Lab = _NO_LAB
    creatinine_clearance: Lab = _NO_LAB
    bun: Lab = _NO_LAB
    bilirubin: Lab = _NO_LAB
    ast: Lab = _NO_LAB
    alt: Lab = _NO_LAB
    albumin: Lab = _NO_LAB
    lvef_percent: Decimal | None = None
    echo_date: date | None = None
    sbp: int | None = None
    dbp: int | None = None
    on_antihypertensives: bool | None = None
    qtc_ms: int | None = None
    fasting_glucose: Lab = _NO_LAB
    urine_protein_dipstick: int | None = None  # 0 negative/trace, 1 +, 2 ++, 3 +++, 4 ++++
    urine_protein_24h_g: Decimal | None = None
    hbsag_positive: bool | None = None
    hbv_dna_iu_ml: Decimal | None = None
    hcv_rna_positive: bool | None = None
    childbearing_potential: bool | None = None
    lactating: bool | None = None
    pregnancy_test_date: date | None = None
    pregnancy_test_type: str | None = None
    pregnancy_test_result: str | None = None  # "negative" / "positive"
    contraception_agreed: bool | None = None
    other_malignancy_5y: bool | None = None  # E02
    unresolved_toxicity_gt1: bool | None = None  # E04
    cannot_take_oral: bool | None = None  # E05
    effusion_dyspnoea_gt2: bool | None = None  # E06
    thyroid_dysfunction: bool | None = None  # E08
    cardiac_disease: bool | None = None  # E09 (b) arrhythmia, >= II ischaemia/infarction, NYHA>=2
    active_infection_ge2: bool | None = None  # E09 (d)
    infection_needing_antimicrobials: bool | None = None  # E09 (e) second half
    seizures_needing_treatment: bool | None = None  # E09 (g)
    major_vessel_invasion_risk: bool | None = None  # E11 judgement
    unhealed_wound_or_fracture: bool | None = None  # E12
    bleeding_gt3_4w: bool | None = None  # E12
    thrombosis_6m: bool | None = None  # E13
    psychiatric_or_substance: bool | None = None  # E14
    investigator_unsafe_judgement: bool | None = None  # E16 judgement


@dataclass(frozen=True)
class CriterionResult:
    code: str
    kind: Kind
    title: str
    status: Status
    reason: str

    @property
    def passes(self) -> bool:
        """True when the criterion does not stand in the way: MET or ATTESTED."""
        return self.status in (Status.MET, Status.ATTESTED)


@dataclass(frozen=True)
class Verdict:
    results: tuple[CriterionResult, ...]

    @property
    def eligible(self) -> bool:
        """Every criterion MET or ATTESTED: none NOT_MET, none NOT_EVALUABLE."""
        return all(result.passes for result in self.results)

    @property
    def failing(self) -> tuple[CriterionResult, ...]:
        return tuple(r for r in self.results if r.status is Status.NOT_MET)

    @property
    def missing(self) -> tuple[CriterionResult, ...]:
        return tuple(r for r in self.results if r.status is Status.NOT_EVALUABLE)

    def checklist(self) -> list[CriterionResult]:
        """Failing first, then not evaluable, then the rest; protocol order within each group."""
        group = {Status.NOT_MET: 0, Status.NOT_EVALUABLE: 1}
        return sorted(
            self.results,
            key=lambda r: (group.get(r.status, 2), _ORDER.get(r.code, len(_ORDER))),
        )


# --- Small helpers ------------------------------------------------------------------------------

_Part = tuple[Status, str]
_SEP = " | "


def _met(reason: str) -> _Part:
    return (Status.MET, reason)


def _not_met(reason: str) -> _Part:
    return (Status.NOT_MET, reason)


def _missing(reason: str) -> _Part:
    return (Status.NOT_EVALUABLE, reason)


def _combine(parts: Sequence[_Part]) -> _Part:
    """NOT_MET if any part fails, else NOT_EVALUABLE if any is missing, else MET.

    The reason lists the failing parts, else the missing ones, else all; parts are separated
    by " | " (a part's own reason may contain "; ").
    """
    if len(parts) == 1:
        return parts[0]
    for status in (Status.NOT_MET, Status.NOT_EVALUABLE):
        reasons = [reason for s, reason in parts if s is status]
        if reasons:
            return (status, _SEP.join(reasons))
    return (Status.MET, _SEP.join(reason for _s, reason in parts))


def _dec(value: Decimal | int | float | str) -> Decimal:
    """A Decimal from what a form may hand over (floats through their shortest text)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def _num(value: Decimal, against: Decimal | None = None) -> str:
    """Show a number to 2 decimals, trailing zeros dropped.

    With ``against`` (the limit it is compared with), more decimals (up to 6) are shown when 2
    would print the limit itself although the value differs from it.
    """
    value = _dec(value)
    shown = value
    for places in range(2, 7):
        shown = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if against is None or shown != against or value == against:
            break
    text = format(shown.normalize(), "f")
    return "0" if text == "-0" else text


def _entered(value: Decimal) -> str:
    """Show a value as entered (fixed-point, no exponent)."""
    return format(_dec(value), "f")


def _ratio(value: Decimal, against: Decimal) -> str:
    """Show a multiple of the ULN with at least one decimal ("3.0", "2.55")."""
    text = _num(value, against)
    return text if "." in text else f"{text}.0"


def _on(day: date | None) -> str:
    return f" on {day.isoformat()}" if day is not None else ""


def _yes_excludes(answer: bool | None, what: str) -> _Part:
    """A yes/no exclusion question: yes (True) excludes, no (False) is free of it."""
    if answer is None:
        return _missing(f"{what}: not answered")
    if answer:
        return _not_met(f"{what}: yes")
    return _met(f"{what}: no")


def _yes_required(answer: bool | None, what: str) -> _Part:
    """A yes/no inclusion question: yes (True) is required."""
    if answer is None:
        return _missing(f"{what}: not answered")
    if answer:
        return _met(f"{what}: yes")
    return _not_met(f"{what}: no")


def _days_before(
    event: date | None, reference: date | None, *, what: str, ref_name: str, minimum: int
) -> _Part:
    """Washout: ``event`` must be at least ``minimum`` days before ``reference``."""
    if event is None:
        return _missing(f"{what} date missing")
    if reference is None:
        return _missing(f"{ref_name} date missing")
    days = (reference - event).days
    text = f"{what} {event.isoformat()} is {days} days before {ref_name} {reference.isoformat()}"
    if days < 0:
        text = f"{what} {event.isoformat()} is after {ref_name} {reference.isoformat()}"
    if days < minimum:
        return _not_met(f"{text}; needs >= {minimum} days")
    return _met(f"{text}; needs >= {minimum} days")


# --- Labs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reading:
    value: Decimal  # in the canonical unit
    entered: str  # "Hb 7.5 g/dL"
    unit: str  # the unit as entered, normalised


def _read(lab: Lab | None, analyte: str) -> _Reading | str:
    """Convert an entered lab to the canonical unit; a string says why it cannot be used."""
    name = LABELS[analyte]
    if lab is None or lab.value is None:
        return f"{name} missing"
    value = _dec(lab.value)
    if lab.unit is None or not lab.unit.strip():
        return f"{name} {_entered(value)}: unit missing"
    if value < 0:
        return f"{name} {_entered(value)} {lab.unit} is negative"
    try:
        canonical = convert(value, lab.unit, CANONICAL[analyte], analyte=analyte)
    except UnitError as exc:
        return f"{name} {_entered(value)} {lab.unit}: {exc}"
    unit = normalise_unit(lab.unit)
    return _Reading(canonical, f"{name} {_entered(value)} {unit}", unit)


def _at_least(lab: Lab | None, analyte: str, minimum: Decimal) -> _Part:
    """PROTOCOL.md I08 absolute lower limits (Hb, ANC, PLT, albumin, creatinine clearance)."""
    reading = _read(lab, analyte)
    if isinstance(reading, str):
        return _missing(reading)
    unit = CANONICAL[analyte]
    text = reading.entered
    if reading.unit != unit:
        text += f" = {_num(reading.value, minimum)} {unit}"
    text += f"; needs >= {_num(minimum)} {unit}"
    return _met(text) if reading.value >= minimum else _not_met(text)


def _above(lab: Lab | None, analyte: str, maximum: Decimal, what: str) -> _Part:
    """PROTOCOL.md E09 (c): excluded when the value is above ``maximum`` (canonical unit).

    ``what`` prefixes the analyte's name, e.g. "(c) fasting" gives "(c) fasting glucose ...".
    """
    reading = _read(lab, analyte)
    if isinstance(reading, str):
        return _missing(f"{what} {reading}")
    unit = CANONICAL[analyte]
    text = f"{what} {reading.entered}"
    if reading.unit != unit:
        text += f" = {_num(reading.value, maximum)} {unit}"
    text += f"; excluded above {_num(maximum)} {unit}"
    return _not_met(text) if reading.value > maximum else _met(text)


@dataclass(frozen=True)
class _UlnReading:
    value: Decimal  # canonical unit
    uln: Decimal  # canonical unit
    entered: str  # "ALT 120 U/L"
    uln_text: str  # "ULN 40 U/L" or "ULN 1.2 mg/dL (= 106.08 umol/L)"

    @property
    def ratio(self) -> Decimal:
        return self.value / self.uln

    def describe(self, limit: Decimal) -> str:
        return f"{self.entered} = {_ratio(self.ratio, limit)} × {self.uln_text}"


def _read_vs_uln(
    lab: Lab | None, analyte: str, ranges: Mapping[str, RefRange], on: date | None
) -> _UlnReading | str:
    """Read a lab and the site's ULN for it, both in the canonical unit (PROTOCOL.md I08)."""
    reading = _read(lab, analyte)
    if isinstance(reading, str):
        return reading
    name = LABELS[analyte]
    ref = ranges.get(analyte)
    if ref is None:
        return f"no reference range for {name} at this site{_on(on)}"
    if ref.uln is None or _dec(ref.uln) <= 0:
        return f"reference range for {name} (from {ref.valid_from.isoformat()}) has no usable ULN"
    uln_entered = _dec(ref.uln)
    try:
        uln = convert(uln_entered, ref.unit, CANONICAL[analyte], analyte=analyte)
        uln_in_lab_unit = convert(uln_entered, ref.unit, reading.unit, analyte=analyte)
    except UnitError as exc:
        return f"reference range for {name}: {exc}"
    ref_unit = normalise_unit(ref.unit)
    uln_text = f"ULN {_entered(uln_entered)} {ref_unit}"
    if ref_unit != reading.unit:
        uln_text += f" (= {_num(uln_in_lab_unit)} {reading.unit})"
    return _UlnReading(reading.value, uln, reading.entered, uln_text)


def _at_most_uln(
    lab: Lab | None,
    analyte: str,
    ranges: Mapping[str, RefRange],
    on: date | None,
    times: Decimal,
    note: str = "",
) -> _Part:
    """PROTOCOL.md I08 "<= k x ULN" rules (creatinine, BUN, bilirubin, AST, ALT)."""
    reading = _read_vs_uln(lab, analyte, ranges, on)
    if isinstance(reading, str):
        return _missing(reading)
    text = f"{reading.describe(times)}; limit {_num(times)} × ULN{note}"
    return _met(text) if reading.value <= times * reading.uln else _not_met(text)


def _transaminase(
    lab: Lab | None,
    analyte: str,
    ranges: Mapping[str, RefRange],
    on: date | None,
    liver_metastases: bool | None,
) -> _Part:
    """PROTOCOL.md I08: AST/ALT <= 2.5 x ULN, or <= 5 x ULN with liver metastases."""
    low, high = P.AST_ALT_MAX_X_ULN, P.AST_ALT_MAX_X_ULN_LIVER_METS
    if liver_metastases is True:
        return _at_most_uln(lab, analyte, ranges, on, high, " with liver metastases")
    if liver_metastases is False:
        return _at_most_uln(lab, analyte, ranges, on, low, " without liver metastases")
    reading = _read_vs_uln(lab, analyte, ranges, on)
    if isinstance(reading, str):
        return _missing(reading)
    if reading.value <= low * reading.uln:
        return _met(f"{reading.describe(low)}; limit {_num(low)} × ULN")
    if reading.value <= high * reading.uln:
        return _missing(
            f"{reading.describe(low)}; passes only with liver metastases (limit {_num(high)} × "
            f"ULN, else {_num(low)} × ULN): liver metastases not recorded"
        )
    return _not_met(
        f"{reading.describe(high)}; limit {_num(high)} × ULN even with liver metastases"
    )


def _renal(data: ScreeningInput, ranges: Mapping[str, RefRange]) -> _Part:
    """PROTOCOL.md I08: creatinine <= 1.5 x ULN **or** creatinine clearance >= 60 mL/min."""
    creatinine = _at_most_uln(
        data.creatinine, "creatinine", ranges, data.lab_date, P.CREATININE_MAX_X_ULN
    )
    clearance = _at_least(
        data.creatinine_clearance, "creatinine_clearance", P.CREATININE_CLEARANCE_MIN_ML_MIN
    )
    both = (creatinine, clearance)
    text = f"{creatinine[1]}, or {clearance[1]}"
    if any(status is Status.MET for status, _r in both):
        return _met(text)
    if all(status is Status.NOT_MET for status, _r in both):
        return _not_met(f"{text}: neither met")
    return _missing(f"{text}: neither met yet")


def _lvef(value: Decimal | None) -> _Part:
    """PROTOCOL.md I08: LVEF >= 50 % (Doppler echocardiography)."""
    if value is None:
        return _missing("LVEF missing")
    value = _dec(value)
    text = f"LVEF {_entered(value)} %; needs >= {_num(P.LVEF_MIN_PERCENT)} %"
    return _met(text) if value >= P.LVEF_MIN_PERCENT else _not_met(text)


# --- Inclusion ----------------------------------------------------------------------------------


def _i01(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I01: consent signed and dated before any study procedure."""
    consent, first = data.consent_date, data.first_procedure_date
    if consent is None:
        return _missing("consent date missing")
    if first is None:
        return _missing("date of the first study procedure missing")
    if consent <= first:
        return _met(f"consent {consent.isoformat()} on or before first procedure {first}")
    return _not_met(f"consent {consent.isoformat()} is after the first study procedure {first}")


def _birthday(born: date, year: int) -> date:
    """The birthday of ``born`` in ``year``; 29 February falls on 1 March in common years."""
    if (born.month, born.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 3, 1)
    return born.replace(year=year)


def age_on(born: date, on: date) -> int:
    """Age in completed years on ``on``; the birthday itself counts (see module docstring)."""
    return on.year - born.year - (1 if on < _birthday(born, on.year) else 0)


def _i02(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I02: age 18-70 years inclusive at consent."""
    consent = data.consent_date
    low, high = P.AGE_MIN_YEARS, P.AGE_MAX_YEARS
    limits = f"needs {low}-{high}"
    if consent is None:
        return _missing("consent date missing (age is taken at consent)")
    born, year = data.date_of_birth, data.year_of_birth
    if born is not None:
        if year is not None and year != born.year:
            return _missing(f"date of birth {born} and year of birth {year} disagree")
        if born > consent:
            return _missing(f"date of birth {born} is after consent {consent}")
        age = age_on(born, consent)
        text = f"age {age} at consent {consent} (born {born}); {limits}"
        return _met(text) if low <= age <= high else _not_met(text)
    if year is None:
        return _missing("date of birth missing")
    if year > consent.year:
        return _missing(f"year of birth {year} is after consent {consent}")
    oldest = consent.year - year
    # On 31 December every birthday of the year has passed, so the age is certain.
    ages = {oldest} if (consent.month, consent.day) == (12, 31) else {oldest - 1, oldest}
    inside = {age for age in ages if low <= age <= high}
    shown = " or ".join(str(age) for age in sorted(ages))
    text = f"born in {year}: age {shown} at consent {consent}; {limits}"
    if inside == ages:
        return _met(text)
    if not inside:
        return _not_met(text)
    return _missing(f"{text}; full date of birth needed")


def _i03(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I03: ECOG performance status 0-2."""
    if data.ecog is None:
        return _missing("ECOG missing")
    if not 0 <= data.ecog <= ECOG_SCALE_MAX:
        return _missing(f"ECOG {data.ecog} is not a score (0-{ECOG_SCALE_MAX})")
    text = f"ECOG {data.ecog}; needs 0-{P.ECOG_MAX}"
    return _met(text) if data.ecog <= P.ECOG_MAX else _not_met(text)


def _i04(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I04: expected survival > 3 months, investigator judgement."""
    months = P.EXPECTED_SURVIVAL_MIN_MONTHS
    if data.expected_survival_attested is None:
        return _missing(f"investigator has not attested survival > {months} months")
    if data.expected_survival_attested:
        return (Status.ATTESTED, f"investigator attests expected survival > {months} months")
    return _not_met(f"investigator does not expect survival > {months} months")


def _histology(code: str | None, other: str) -> _Part:
    """PROTOCOL.md I05: an eligible subtype, none of those listed after "EXCEPT"."""
    if code is None or not code.strip():
        return _missing("histology missing")
    if code in HISTOLOGY_EXCLUDED:
        return _not_met(f"histology {HISTOLOGY_EXCLUDED[code]} is excluded")
    if code not in HISTOLOGY_ALLOWED:
        return _missing(f"unknown histology code {code!r}")
    if code == "other_sts":
        if not other.strip():
            return _missing("histology 'other soft-tissue sarcoma' not specified")
        return _met(f"histology other soft-tissue sarcoma: {other.strip()}")
    return _met(f"histology {HISTOLOGY_ALLOWED[code]}")


def _i05(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I05: pathologically confirmed advanced STS of an eligible subtype."""
    return _combine(
        [
            _yes_required(data.pathologically_confirmed, "pathologically confirmed"),
            _yes_required(data.advanced_or_metastatic, "advanced or metastatic"),
            _histology(data.histology, data.histology_other or ""),
        ]
    )


def _i06(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I06: evaluable, or measurable (RECIST 1.1), disease."""
    status = data.disease_status
    if status is None:
        return _missing("disease status missing")
    if status in DISEASE_STATUSES_ALLOWED:
        return _met(f"{status} disease")
    if status == "none":
        return _not_met("no measurable or evaluable disease")
    return _missing(f"unknown disease status {status!r}")


def _i07(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I07: PR or SD after >= 4 cycles of first-line anthracycline chemotherapy."""
    minimum = P.MIN_PRIOR_ANTHRACYCLINE_CYCLES
    parts = [_yes_required(data.anthracycline_first_line, "first-line anthracycline")]
    cycles = data.anthracycline_cycles
    if cycles is None:
        parts.append(_missing("number of anthracycline cycles missing"))
    else:
        text = f"{cycles} anthracycline cycles; needs >= {minimum}"
        parts.append(_met(text) if cycles >= minimum else _not_met(text))
    response = data.best_response
    allowed = " or ".join(BEST_RESPONSES_ALLOWED)
    if response is None:
        parts.append(_missing("best response missing"))
    elif response in BEST_RESPONSES_ALLOWED:
        parts.append(_met(f"best response {response}; needs {allowed}"))
    elif response in BEST_RESPONSES:
        parts.append(_not_met(f"best response {response}; needs {allowed}"))
    else:
        parts.append(_missing(f"unknown best response {response!r}"))
    return _combine(parts)


def _i08(data: ScreeningInput, ranges: Mapping[str, RefRange]) -> _Part:
    """PROTOCOL.md I08: organ function, each limit from alter_s006.protocol."""
    on = data.lab_date
    return _combine(
        [
            _at_least(data.hb, "hb", P.HB_MIN_G_PER_L),
            _at_least(data.anc, "anc", P.ANC_MIN_10E9_PER_L),
            _at_least(data.plt, "plt", P.PLT_MIN_10E9_PER_L),
            _renal(data, ranges),
            _at_most_uln(data.bun, "bun", ranges, on, P.BUN_MAX_X_ULN),
            _at_most_uln(data.bilirubin, "bilirubin", ranges, on, P.BILIRUBIN_MAX_X_ULN),
            _transaminase(data.ast, "ast", ranges, on, data.liver_metastases),
            _transaminase(data.alt, "alt", ranges, on, data.liver_metastases),
            _at_least(data.albumin, "albumin", P.ALBUMIN_MIN_G_PER_L),
            _lvef(data.lvef_percent),
        ]
    )


def _pregnancy_test(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I09: negative pregnancy test within 7 days before the first dose (C1D1)."""
    window = P.PREGNANCY_TEST_MAX_DAYS_BEFORE_FIRST_DOSE
    result = data.pregnancy_test_result
    if result is None:
        return _missing("pregnancy test result missing")
    if result == "positive":
        return _not_met("pregnancy test positive")
    if result != "negative":
        return _missing(f"unknown pregnancy test result {result!r}")
    tested, c1d1 = data.pregnancy_test_date, data.planned_c1d1
    if tested is None:
        return _missing("pregnancy test date missing")
    if c1d1 is None:
        return _missing("planned C1D1 missing (the pregnancy test must be within 7 days before)")
    days = (c1d1 - tested).days
    kind = f"{data.pregnancy_test_type} " if data.pregnancy_test_type else ""
    head = f"negative {kind}pregnancy test {tested}"
    if days < 0:
        return _not_met(f"{head} is after planned C1D1 {c1d1}; must be 0-{window} days before")
    text = f"{head} is {days} days before planned C1D1 {c1d1}"
    if days > window:
        return _not_met(f"{text}: test is older than {window} days before C1D1")
    return _met(f"{text}; needs 0-{window} days")


def _i09(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I09: contraception agreed by men and by women of childbearing potential
    (during the study and 6 months after); such women also not lactating and with a negative
    pregnancy test within 7 days before the first dose. A woman without childbearing
    potential needs none of these.
    """
    parts = []
    if data.sex is None:
        parts.append(_missing("sex missing (decides whether a pregnancy test is needed)"))
    elif data.sex == "M":
        parts.append(_yes_required(data.contraception_agreed, "contraception agreed"))
    elif data.sex == "F":
        if data.childbearing_potential is None:
            parts.append(_missing("childbearing potential not answered"))
        elif data.childbearing_potential:
            parts.append(_yes_required(data.contraception_agreed, "contraception agreed"))
            parts.append(_yes_excludes(data.lactating, "lactating"))
            parts.append(_pregnancy_test(data))
        else:
            parts.append(
                _met(
                    "woman without childbearing potential: no contraception or "
                    "pregnancy test needed"
                )
            )
    else:
        parts.append(_missing(f"unknown sex {data.sex!r}"))
    return _combine(parts)


# --- Exclusion ----------------------------------------------------------------------------------


def _e01(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E01: prior anlotinib."""
    return _yes_excludes(data.prior_anlotinib, "prior anlotinib")


def _e02(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E02: another malignancy within the last 5 years."""
    years = P.PRIOR_MALIGNANCY_YEARS
    return _yes_excludes(data.other_malignancy_5y, f"another malignancy within {years} years")


def _e03(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E03: systemic therapy within 4 weeks before enrolment or planned;
    extended-field radiotherapy within 4 weeks."""
    parts = [
        _days_before(
            data.last_systemic_therapy_date,
            data.enrolment_date,
            what="last systemic therapy",
            ref_name="enrolment",
            minimum=P.SYSTEMIC_THERAPY_WASHOUT_DAYS,
        ),
        _yes_excludes(data.systemic_therapy_planned, "systemic therapy planned during the study"),
    ]
    kind = data.radiotherapy_type
    if kind is None:
        parts.append(_missing("radiotherapy type missing"))
    elif kind == "extended_field":
        parts.append(
            _days_before(
                data.radiotherapy_date,
                data.enrolment_date,
                what="extended-field radiotherapy",
                ref_name="enrolment",
                minimum=P.RADIOTHERAPY_WASHOUT_DAYS,
            )
        )
    elif kind in RADIOTHERAPY_TYPES:
        parts.append(_met(f"radiotherapy: {kind} (no washout)"))
    else:
        parts.append(_missing(f"unknown radiotherapy type {kind!r}"))
    return _combine(parts)


def _e04(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E04: unresolved toxicity > CTCAE grade 1 (alopecia excepted)."""
    return _yes_excludes(data.unresolved_toxicity_gt1, "unresolved toxicity > grade 1")


def _e05(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E05: conditions preventing oral medication."""
    return _yes_excludes(data.cannot_take_oral, "cannot take oral medication")


def _e06(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E06: effusion or ascites with dyspnoea > CTCAE grade 2."""
    return _yes_excludes(data.effusion_dyspnoea_gt2, "effusion/ascites with dyspnoea > grade 2")


def _e07(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E07: brain metastases not controlled, or controlled for < 2 months."""
    state, months = data.brain_metastases, P.BRAIN_METS_CONTROLLED_MIN_MONTHS
    if state is None:
        return _missing("brain metastases not answered")
    if state not in BRAIN_METASTASES_STATES:
        return _missing(f"unknown brain metastases state {state!r}")
    if state == "none":
        return _met("no brain metastases")
    if state == "uncontrolled":
        return _not_met("brain metastases not controlled")
    since, enrolment = data.brain_metastases_controlled_since, data.enrolment_date
    if since is None:
        return _missing("date brain metastases controlled since missing")
    if enrolment is None:
        return _missing("enrolment date missing")
    due = add_months(since, months)
    text = (
        f"brain metastases controlled since {since}; {months} months later is {due}, "
        f"enrolment {enrolment}"
    )
    if due <= enrolment:
        return _met(text)
    return _not_met(f"{text}: controlled for less than {months} months")


def _e08(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E08: thyroid dysfunction despite best supportive treatment."""
    return _yes_excludes(data.thyroid_dysfunction, "thyroid dysfunction")


def _e09a(data: ScreeningInput) -> list[_Part]:
    """PROTOCOL.md E09 (a): systolic >= 140 or diastolic >= 90 mmHg."""
    parts = []
    for label, value, limit in (
        ("systolic", data.sbp, P.SBP_MAX_EXCLUSIVE),
        ("diastolic", data.dbp, P.DBP_MAX_EXCLUSIVE),
    ):
        if value is None:
            parts.append(_missing(f"(a) {label} BP missing"))
            continue
        text = f"(a) {label} BP {value} mmHg; excluded at >= {limit}"
        parts.append(_not_met(text) if value >= limit else _met(text))
    return parts


def _e09b(data: ScreeningInput) -> list[_Part]:
    """PROTOCOL.md E09 (b): cardiac disease; QTc >= 450 ms (men) / >= 470 ms (women)."""
    men, women = P.QTC_EXCLUDE_MEN_MS, P.QTC_EXCLUDE_WOMEN_MS
    parts = [
        _yes_excludes(
            data.cardiac_disease,
            "(b) arrhythmia, ischaemia/infarction >= grade II or NYHA >= 2 heart failure",
        )
    ]
    qtc = data.qtc_ms
    limits = f"excluded at >= {men} ms (men) / >= {women} ms (women)"
    if qtc is None:
        parts.append(_missing("(b) QTc missing"))
    elif qtc >= max(men, women) or qtc < min(men, women):
        text = f"(b) QTc {qtc} ms; {limits}"
        parts.append(_not_met(text) if qtc >= max(men, women) else _met(text))
    elif data.sex in ("M", "F"):
        limit = men if data.sex == "M" else women
        who = "men" if data.sex == "M" else "women"
        text = f"(b) QTc {qtc} ms; excluded at >= {limit} ms in {who}"
        parts.append(_not_met(text) if qtc >= limit else _met(text))
    else:
        parts.append(_missing(f"(b) QTc {qtc} ms: sex needed ({limits})"))
    return parts


def _hepatitis_b(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E09 (e): active hepatitis B = HBsAg+ and HBV DNA >= 500 IU/mL."""
    limit = P.HBV_DNA_EXCLUDE_IU_ML
    if data.hbsag_positive is None:
        return _missing("(e) HBsAg missing")
    if not data.hbsag_positive:
        return _met("(e) HBsAg negative")
    if data.hbv_dna_iu_ml is None:
        return _missing("(e) HBsAg positive: HBV DNA missing")
    dna = _dec(data.hbv_dna_iu_ml)
    text = f"(e) HBsAg positive, HBV DNA {_entered(dna)} IU/mL; excluded at >= {limit}"
    return _not_met(text) if dna >= limit else _met(text)


def _hepatitis_c(data: ScreeningInput, ranges: Mapping[str, RefRange]) -> _Part:
    """PROTOCOL.md E09 (e): active hepatitis C = HCV RNA+ with ALT or AST above the ULN."""
    if data.hcv_rna_positive is None:
        return _missing("(e) HCV RNA missing")
    if not data.hcv_rna_positive:
        return _met("(e) HCV RNA negative")
    limit = HCV_LIVER_FUNCTION_MAX_X_ULN
    abnormal, normal, missing = [], [], []
    for analyte, lab in (("alt", data.alt), ("ast", data.ast)):
        reading = _read_vs_uln(lab, analyte, ranges, data.lab_date)
        if isinstance(reading, str):
            missing.append(reading)
        elif reading.value > limit * reading.uln:
            abnormal.append(reading.describe(limit))
        else:
            normal.append(reading.describe(limit))
    if abnormal:
        return _not_met(f"(e) HCV RNA positive with abnormal liver function: {', '.join(abnormal)}")
    if missing:
        return _missing(f"(e) HCV RNA positive, liver function unknown: {', '.join(missing)}")
    return _met(f"(e) HCV RNA positive, liver function normal: {', '.join(normal)}")


def _proteinuria(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E09 (f): urine protein >= ++ or 24-h protein >= 1.0 g."""
    dip, grams = data.urine_protein_dipstick, data.urine_protein_24h_g
    plus, limit_g = P.URINE_PROTEIN_EXCLUDE_DIPSTICK_PLUS, P.URINE_PROTEIN_24H_EXCLUDE_G
    if dip is not None and not 0 <= dip <= URINE_DIPSTICK_MAX:
        return _missing(f"(f) urine dipstick {dip} is not a reading (0-{URINE_DIPSTICK_MAX})")
    shown = []
    if dip is not None:
        shown.append(f"dipstick {_DIPSTICK[dip]}")
    if grams is not None:
        shown.append(f"24-h protein {_entered(_dec(grams))} g")
    text = f"(f) urine {', '.join(shown)}; excluded at >= {_DIPSTICK[plus]} or >= {limit_g} g/24 h"
    if (dip is not None and dip >= plus) or (grams is not None and _dec(grams) >= limit_g):
        return _not_met(text)
    if dip is None and grams is None:
        return _missing("(f) urine protein missing (dipstick or 24-h)")
    return _met(text)


def _e09(data: ScreeningInput, ranges: Mapping[str, RefRange]) -> _Part:
    """PROTOCOL.md E09 (a)-(g): severe uncontrolled disease."""
    return _combine(
        [
            *_e09a(data),
            *_e09b(data),
            _above(
                data.fasting_glucose,
                "glucose",
                P.FASTING_GLUCOSE_MAX_MMOL_L,
                "(c) fasting",
            ),
            _yes_excludes(data.active_infection_ge2, "(d) active infection >= grade 2"),
            _hepatitis_b(data),
            _hepatitis_c(data, ranges),
            _yes_excludes(
                data.infection_needing_antimicrobials, "(e) infection needing antimicrobials"
            ),
            _proteinuria(data),
            _yes_excludes(data.seizures_needing_treatment, "(g) seizures needing treatment"),
        ]
    )


def _never_or_washout(
    none: bool | None,
    when: date | None,
    enrolment: date | None,
    *,
    what: str,
    never: str,
    minimum: int,
) -> _Part:
    """An event recorded as "never", or dated at least ``minimum`` days before enrolment."""
    if none and when is not None:
        return _missing(f"{never} is ticked but a {what} date {when} is recorded")
    if none:
        return _met(never)
    return _days_before(when, enrolment, what=what, ref_name="enrolment", minimum=minimum)


def _e10(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E10: surgery, incisional biopsy or significant trauma within 28 days."""
    return _never_or_washout(
        data.surgery_none,
        data.surgery_date,
        data.enrolment_date,
        what="surgery/biopsy/trauma",
        never="no surgery, biopsy or significant trauma",
        minimum=P.SURGERY_WASHOUT_DAYS,
    )


def _judgement(answer: bool | None, *, unanswered: str, excluded: str, attested: str) -> _Part:
    """An exclusion the investigator judges: yes excludes, no is attested, blank is missing."""
    if answer is None:
        return _missing(unanswered)
    if answer:
        return _not_met(excluded)
    return (Status.ATTESTED, attested)


def _e11(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E11: tumour likely to invade major vessels (investigator judgement)."""
    return _judgement(
        data.major_vessel_invasion_risk,
        unanswered="investigator has not judged the risk of major-vessel invasion",
        excluded="investigator judges the tumour likely to invade major vessels / bleed",
        attested="investigator attests no major-vessel invasion risk",
    )


def _e12(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E12: unhealed wound/ulcer/fracture; bleeding > grade 3 within 4 weeks."""
    days = P.BLEEDING_LOOKBACK_DAYS
    return _combine(
        [
            _yes_excludes(data.unhealed_wound_or_fracture, "unhealed wound, ulcer or fracture"),
            _yes_excludes(data.bleeding_gt3_4w, f"bleeding > grade 3 within {days} days"),
        ]
    )


def _e13(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E13: arterial or venous thrombosis within 6 months."""
    months = P.THROMBOSIS_LOOKBACK_MONTHS
    return _yes_excludes(data.thrombosis_6m, f"thrombosis within {months} months")


def _e14(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E14: psychotropic substance abuse or mental disorder."""
    return _yes_excludes(data.psychiatric_or_substance, "substance abuse or mental disorder")


def _e15(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E15: another anti-tumour trial within 4 weeks."""
    return _never_or_washout(
        data.other_trial_none,
        data.other_trial_date,
        data.enrolment_date,
        what="last other anti-tumour trial",
        never="no other anti-tumour trial",
        minimum=P.OTHER_TRIAL_WASHOUT_DAYS,
    )


def _e16(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E16: any other condition the investigator judges unsafe (judgement)."""
    return _judgement(
        data.investigator_unsafe_judgement,
        unanswered="investigator has not given the overall safety judgement",
        excluded="investigator judges participation unsafe",
        attested="investigator attests no other unsafe condition",
    )


_Rule = Callable[[ScreeningInput, Mapping[str, RefRange]], _Part]

_RULES: dict[str, _Rule] = {
    "I01": lambda d, r: _i01(d),
    "I02": lambda d, r: _i02(d),
    "I03": lambda d, r: _i03(d),
    "I04": lambda d, r: _i04(d),
    "I05": lambda d, r: _i05(d),
    "I06": lambda d, r: _i06(d),
    "I07": lambda d, r: _i07(d),
    "I08": _i08,
    "I09": lambda d, r: _i09(d),
    "E01": lambda d, r: _e01(d),
    "E02": lambda d, r: _e02(d),
    "E03": lambda d, r: _e03(d),
    "E04": lambda d, r: _e04(d),
    "E05": lambda d, r: _e05(d),
    "E06": lambda d, r: _e06(d),
    "E07": lambda d, r: _e07(d),
    "E08": lambda d, r: _e08(d),
    "E09": _e09,
    "E10": lambda d, r: _e10(d),
    "E11": lambda d, r: _e11(d),
    "E12": lambda d, r: _e12(d),
    "E13": lambda d, r: _e13(d),
    "E14": lambda d, r: _e14(d),
    "E15": lambda d, r: _e15(d),
    "E16": lambda d, r: _e16(d),
}


# --- Public entry points -----------------------------------------------------------------------


def select_reference_range(
    candidates: Iterable[RefRange], *, analyte: str, sex: str | None, on: date
) -> RefRange | None:
    """Pick the reference range in force for ``analyte`` on ``on`` (PROTOCOL.md I08).

    Among ranges of that analyte whose sex is None or equals ``sex`` and in force on ``on``
    (``valid_from`` on or before it, ``valid_to`` empty or on or after it: both days count),
    the latest ``valid_from`` wins; on the same ``valid_from`` a sex-specific range beats a
    sex-neutral one. ``sex=None`` sees only sex-neutral ranges. Ties beyond that keep the
    first candidate. None when nothing applies (an ended range is not carried forward).
    """
    best: RefRange | None = None
    best_key: tuple[date, bool] | None = None
    for ref in candidates:
        if ref.analyte != analyte or ref.valid_from > on:
            continue
        if ref.valid_to is not None and ref.valid_to < on:
            continue
        if ref.sex is not None and ref.sex != sex:
            continue
        key = (ref.valid_from, ref.sex is not None)
        if best_key is None or key > best_key:
            best, best_key = ref, key
    return best


# The analytes whose limits are multiples of the site's ULN (PROTOCOL.md I08).
RANGED_ANALYTES = ("creatinine", "bun", "bilirubin", "ast", "alt")


def ranges_in_force(
    candidates: Iterable[RefRange], *, sex: str | None, on: date | None
) -> dict[str, RefRange]:
    """The range in force on ``on`` for each analyte of :data:`RANGED_ANALYTES` that has one."""
    if on is None:
        return {}
    candidates = list(candidates)
    found = {}
    for analyte in RANGED_ANALYTES:
        chosen = select_reference_range(candidates, analyte=analyte, sex=sex, on=on)
        if chosen is not None:
            found[analyte] = chosen
    return found


def evaluate(data: ScreeningInput, ranges: Mapping[str, RefRange]) -> Verdict:
    """Evaluate all 25 criteria, always in protocol order (PROTOCOL.md "Eligibility").

    ``ranges`` maps an analyte key of :mod:`eligibility.units` to the reference range in force
    (see :func:`select_reference_range`).
    """
    results = []
    for code, kind, title in CRITERIA:
        status, reason = _RULES[code](data, ranges)
        results.append(CriterionResult(code, kind, title, status, reason))
    return Verdict(tuple(results))


def screening_window_exceeded(
    first_procedure: date | None, planned_c1d1: date | None
) -> int | None:
    """Days from the first screening procedure to C1D1, when beyond the screening window.

    PROTOCOL.md Schedule: screening lasts up to 28 days before C1D1 [default]; a longer gap is
    a warning before enrolment, not an eligibility criterion. None when within it or unknown.
    """
    if first_procedure is None or planned_c1d1 is None:
        return None
    days = (planned_c1d1 - first_procedure).days
    return days if days > P.SCREENING_MAX_DAYS_BEFORE_C1D1 else None
