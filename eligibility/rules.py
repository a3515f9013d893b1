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

Reasons and titles are not English text but :class:`Reason` values: a stable code (e.g.
``anc_below_min``), an English template marked with :func:`gettext_noop` and its parameters
(values, limits, units). ``CriterionResult.reason`` is the English text (the API's message);
the pages translate each template with ``gettext`` (``CriterionResult.reason_text``), so a
Chinese page shows Chinese titles and reasons; the API also returns the codes and parameters.

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
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from alter_s006 import protocol as P
from eligibility.units import (
    CANONICAL,
    LABELS,
    RANGE_UNITS,
    UnitError,
    convert,
    normalise_unit,
)
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


# --- Reasons and titles: codes with parameters (issue 11 C13) --------------------------------


def gettext_noop(message: str) -> str:
    """Mark an English template for translation and return it unchanged.

    Named as Django's, so that ``makemessages`` collects the templates of this pure module;
    the pages translate them with ``gettext`` when they show a reason (``Reason.text``).
    """
    return message


class Term(str):
    """A word of a reason that is translated on its own (an analyte's name, a unit word)."""


class OrList(tuple):
    """Alternatives shown as "a or b" (the " or " translated)."""


class CommaList(tuple):
    """Parts shown as "a, b"."""


_OR = gettext_noop(" or ")


def _identity(message: str) -> str:
    return message


@dataclass(frozen=True)
class Reason:
    """One reason (or title) as a stable ``code``, its English ``template`` (``%(name)s``
    placeholders, marked with :func:`gettext_noop`) and its ``params``.

    A parameter may itself be a :class:`Reason` or a :class:`Term` (translated too), a date
    (ISO), an :class:`OrList`, or any value shown as text.
    """

    code: str
    template: str
    params: Mapping = field(default_factory=dict)

    def text(self, translate: Callable[[str], str] = _identity) -> str:
        """The reason in words; ``translate`` (e.g. Django's ``gettext``) for the UI language."""
        if not self.template:
            return ""  # gettext("") is the catalogue's header
        values = {k: _param_text(v, translate) for k, v in self.params.items()}
        return translate(self.template) % values if values else translate(self.template)

    def as_json(self) -> dict:
        """``{"code", "params"}`` with plain JSON values (nested reasons as their codes)."""
        return {"code": self.code, "params": {k: _param_json(v) for k, v in self.params.items()}}


def _param_text(value, translate) -> str:
    if isinstance(value, Reason):
        return value.text(translate)
    if isinstance(value, Term):
        return translate(str(value))
    if isinstance(value, OrList):
        return translate(_OR).join(_param_text(v, translate) for v in value)
    if isinstance(value, CommaList):
        return ", ".join(_param_text(v, translate) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _param_json(value):
    if isinstance(value, Reason):
        return value.as_json()
    if isinstance(value, OrList | CommaList):
        return [_param_json(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Term):
        return str(value)
    if isinstance(value, bool | int | str) or value is None:
        return value
    return str(value)


def _t(code: str, template: str, **params) -> Reason:
    return Reason(code, template, params)


TITLES: dict[str, Reason] = {
    "I01": _t("I01", gettext_noop("Signed, dated informed consent before any study procedure")),
    "I02": _t(
        "I02",
        gettext_noop("Age %(low)s-%(high)s years at consent"),
        low=P.AGE_MIN_YEARS,
        high=P.AGE_MAX_YEARS,
    ),
    "I03": _t("I03", gettext_noop("ECOG performance status 0-%(max)s"), max=P.ECOG_MAX),
    "I04": _t(
        "I04",
        gettext_noop("Expected survival > %(months)s months (investigator judgement)"),
        months=P.EXPECTED_SURVIVAL_MIN_MONTHS,
    ),
    "I05": _t("I05", gettext_noop("Pathologically confirmed advanced STS of an eligible subtype")),
    "I06": _t("I06", gettext_noop("Measurable or evaluable disease (RECIST 1.1)")),
    "I07": _t(
        "I07",
        gettext_noop(
            "PR or SD after >= %(cycles)s cycles of first-line anthracycline chemotherapy"
        ),
        cycles=P.MIN_PRIOR_ANTHRACYCLINE_CYCLES,
    ),
    "I08": _t("I08", gettext_noop("Adequate organ function")),
    "I09": _t(
        "I09",
        gettext_noop(
            "Contraception agreed; women of childbearing potential not lactating, negative "
            "pregnancy test within %(days)s days before C1D1"
        ),
        days=P.PREGNANCY_TEST_MAX_DAYS_BEFORE_FIRST_DOSE,
    ),
    "E01": _t("E01", gettext_noop("Prior anlotinib")),
    "E02": _t(
        "E02",
        gettext_noop("Another malignancy within %(years)s years"),
        years=P.PRIOR_MALIGNANCY_YEARS,
    ),
    "E03": _t(
        "E03",
        gettext_noop(
            "Systemic anti-tumour therapy within %(days)s days or planned; extended-field "
            "radiotherapy within %(rt_days)s days"
        ),
        days=P.SYSTEMIC_THERAPY_WASHOUT_DAYS,
        rt_days=P.RADIOTHERAPY_WASHOUT_DAYS,
    ),
    "E04": _t("E04", gettext_noop("Unresolved toxicity > CTCAE grade 1 (alopecia excepted)")),
    "E05": _t("E05", gettext_noop("Condition preventing oral medication")),
    "E06": _t("E06", gettext_noop("Pleural effusion or ascites with dyspnoea > CTCAE grade 2")),
    "E07": _t(
        "E07",
        gettext_noop("Brain metastases not controlled, or controlled for < %(months)s months"),
        months=P.BRAIN_METS_CONTROLLED_MIN_MONTHS,
    ),
    "E08": _t("E08", gettext_noop("Thyroid dysfunction despite best supportive treatment")),
    "E09": _t("E09", gettext_noop("Severe uncontrolled disease (a-g)")),
    "E10": _t(
        "E10",
        gettext_noop(
            "Surgery, incisional biopsy or significant trauma within %(days)s days before enrolment"
        ),
        days=P.SURGERY_WASHOUT_DAYS,
    ),
    "E11": _t(
        "E11",
        gettext_noop(
            "Tumour likely to invade major vessels or cause fatal haemorrhage, or tumour "
            "thrombus in large veins (investigator judgement)"
        ),
    ),
    "E12": _t(
        "E12",
        gettext_noop(
            "Unhealed major wound, ulcer or fracture; bleeding > CTCAE grade 3 within %(days)s days"
        ),
        days=P.BLEEDING_LOOKBACK_DAYS,
    ),
    "E13": _t(
        "E13",
        gettext_noop("Arterial or venous thrombosis within %(months)s months"),
        months=P.THROMBOSIS_LOOKBACK_MONTHS,
    ),
    "E14": _t("E14", gettext_noop("Psychotropic substance abuse or mental disorder")),
    "E15": _t(
        "E15",
        gettext_noop("Another anti-tumour trial within %(days)s days before enrolment"),
        days=P.OTHER_TRIAL_WASHOUT_DAYS,
    ),
    "E16": _t(
        "E16",
        gettext_noop("Other condition the investigator judges unsafe (investigator judgement)"),
    ),
}
"""The title of every criterion (PROTOCOL.md "Eligibility"), translated where shown."""

_KINDS = {code: Kind.INCLUSION if code.startswith("I") else Kind.EXCLUSION for code in TITLES}

CRITERIA: tuple[tuple[str, Kind, str], ...] = tuple(
    (code, _KINDS[code], title.text()) for code, title in TITLES.items()
)
"""(code, kind, English title) of every criterion, in the order of PROTOCOL.md."""

_ORDER = {code: index for index, (code, _kind, _title) in enumerate(CRITERIA)}

JUDGEMENT_CRITERIA: tuple[str, ...] = ("I04", "E11", "E16")
"""The criteria marked ``(judgement)`` in PROTOCOL.md "Eligibility" ("judgement = investigator
attests"): the software cannot check them. Answered in the subject's favour on the screening
form they are ``ATTESTED`` here, but shown as pending until the investigator attests each one
when signing (``eligibility.services.sign_eligibility``), never on the coordinator's word."""


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
    reasons: tuple[Reason, ...]

    @property
    def passes(self) -> bool:
        """True when the criterion does not stand in the way: MET or ATTESTED."""
        return self.status in (Status.MET, Status.ATTESTED)

    @property
    def reason(self) -> str:
        """The reasons in English, parts separated by " | "."""
        return self.reason_text()

    def reason_text(self, translate: Callable[[str], str] = _identity) -> str:
        return _SEP.join(r.text(translate) for r in self.reasons)

    def title_text(self, translate: Callable[[str], str] = _identity) -> str:
        return TITLES[self.code].text(translate)


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

_Part = tuple[Status, tuple[Reason, ...]]
_SEP = " | "


def _met(*reasons: Reason) -> _Part:
    return (Status.MET, reasons)


def _not_met(*reasons: Reason) -> _Part:
    return (Status.NOT_MET, reasons)


def _missing(*reasons: Reason) -> _Part:
    return (Status.NOT_EVALUABLE, reasons)


def _combine(parts: Sequence[_Part]) -> _Part:
    """NOT_MET if any part fails, else NOT_EVALUABLE if any is missing, else MET.

    The reasons are the failing parts', else the missing ones', else all; shown separated by
    " | " (a part's own reason may contain "; ").
    """
    if len(parts) == 1:
        return parts[0]
    for status in (Status.NOT_MET, Status.NOT_EVALUABLE):
        reasons = tuple(r for s, rs in parts if s is status for r in rs)
        if reasons:
            return (status, reasons)
    return (Status.MET, tuple(r for _s, rs in parts for r in rs))


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


def _yes_excludes(answer: bool | None, what: Reason) -> _Part:
    """A yes/no exclusion question: yes (True) excludes, no (False) is free of it."""
    if answer is None:
        return _missing(
            _t(f"{what.code}_not_answered", gettext_noop("%(what)s: not answered"), what=what)
        )
    if answer:
        return _not_met(_t(f"{what.code}_yes", gettext_noop("%(what)s: yes"), what=what))
    return _met(_t(f"{what.code}_no", gettext_noop("%(what)s: no"), what=what))


def _yes_required(answer: bool | None, what: Reason) -> _Part:
    """A yes/no inclusion question: yes (True) is required."""
    if answer is None:
        return _missing(
            _t(f"{what.code}_not_answered", gettext_noop("%(what)s: not answered"), what=what)
        )
    if answer:
        return _met(_t(f"{what.code}_yes", gettext_noop("%(what)s: yes"), what=what))
    return _not_met(_t(f"{what.code}_no", gettext_noop("%(what)s: no"), what=what))


def _date_missing(what: Reason) -> Reason:
    return _t(f"{what.code}_date_missing", gettext_noop("%(what)s date missing"), what=what)


_ENROLMENT = _t("enrolment", gettext_noop("enrolment"))


def _days_before(
    event: date | None, reference: date | None, *, what: Reason, ref_name: Reason, minimum: int
) -> _Part:
    """Washout: ``event`` must be at least ``minimum`` days before ``reference``."""
    if event is None:
        return _missing(_date_missing(what))
    if reference is None:
        return _missing(_date_missing(ref_name))
    days = (reference - event).days
    params = {
        "what": what,
        "event": event,
        "ref": ref_name,
        "reference": reference,
        "days": days,
        "min": minimum,
    }
    if days < 0:
        template = gettext_noop(
            "%(what)s %(event)s is after %(ref)s %(reference)s; needs >= %(min)s days"
        )
    else:
        template = gettext_noop(
            "%(what)s %(event)s is %(days)s days before %(ref)s %(reference)s; "
            "needs >= %(min)s days"
        )
    if days < minimum:
        return _not_met(Reason(f"{what.code}_too_recent", template, params))
    return _met(Reason(f"{what.code}_washout_met", template, params))


# --- Labs -----------------------------------------------------------------------------------------


# The analytes' names of eligibility.units.LABELS, marked here for translation (a Term).
_LAB_NAMES = (
    gettext_noop("Hb"),
    gettext_noop("ANC"),
    gettext_noop("PLT"),
    gettext_noop("creatinine"),
    gettext_noop("creatinine clearance"),
    gettext_noop("BUN"),
    gettext_noop("total bilirubin"),
    gettext_noop("AST"),
    gettext_noop("ALT"),
    gettext_noop("albumin"),
    gettext_noop("glucose"),
)


def _name(analyte: str) -> Term:
    return Term(LABELS[analyte])


@dataclass(frozen=True)
class _Reading:
    value: Decimal  # in the canonical unit
    entered: Reason  # "Hb 7.5 g/dL"
    unit: str  # the unit as entered, normalised


def _read(lab: Lab | None, analyte: str) -> _Reading | Reason:
    """Convert an entered lab to the canonical unit; a Reason says why it cannot be used."""
    name = _name(analyte)
    if lab is None or lab.value is None:
        return _t(f"{analyte}_missing", gettext_noop("%(lab)s missing"), lab=name)
    value = _dec(lab.value)
    if lab.unit is None or not lab.unit.strip():
        return _t(
            f"{analyte}_unit_missing",
            gettext_noop("%(lab)s %(value)s: unit missing"),
            lab=name,
            value=_entered(value),
        )
    if value < 0:
        return _t(
            f"{analyte}_negative",
            gettext_noop("%(lab)s %(value)s %(unit)s is negative"),
            lab=name,
            value=_entered(value),
            unit=lab.unit,
        )
    try:
        canonical = convert(value, lab.unit, CANONICAL[analyte], analyte=analyte)
    except UnitError:
        return _t(
            f"{analyte}_unit_not_allowed",
            gettext_noop(
                "%(lab)s %(value)s %(unit)s: %(unit)s is not a unit for %(lab)s; use %(allowed)s."
            ),
            lab=name,
            value=_entered(value),
            unit=lab.unit,
            allowed=OrList(RANGE_UNITS[analyte]),
        )
    unit = normalise_unit(lab.unit)
    entered = _t(
        f"{analyte}_entered",
        gettext_noop("%(lab)s %(value)s %(unit)s"),
        lab=name,
        value=_entered(value),
        unit=unit,
    )
    return _Reading(canonical, entered, unit)


def _at_least(lab: Lab | None, analyte: str, minimum: Decimal) -> _Part:
    """PROTOCOL.md I08 absolute lower limits (Hb, ANC, PLT, albumin, creatinine clearance)."""
    reading = _read(lab, analyte)
    if isinstance(reading, Reason):
        return _missing(reading)
    unit = CANONICAL[analyte]
    params = {"lab": reading.entered, "limit": _num(minimum), "unit": unit}
    if reading.unit != unit:
        template = gettext_noop("%(lab)s = %(value)s %(unit)s; needs >= %(limit)s %(unit)s")
        params["value"] = _num(reading.value, minimum)
    else:
        template = gettext_noop("%(lab)s; needs >= %(limit)s %(unit)s")
    if reading.value >= minimum:
        return _met(Reason(f"{analyte}_min_met", template, params))
    return _not_met(Reason(f"{analyte}_below_min", template, params))


def _above(lab: Lab | None, analyte: str, maximum: Decimal, what: Reason) -> _Part:
    """PROTOCOL.md E09 (c): excluded when the value is above ``maximum`` (canonical unit).

    ``what`` prefixes the analyte's name, e.g. "(c) fasting" gives "(c) fasting glucose ...".
    """
    reading = _read(lab, analyte)
    if isinstance(reading, Reason):
        return _missing(
            _t(f"{reading.code}", gettext_noop("%(what)s %(reading)s"), what=what, reading=reading)
        )
    unit = CANONICAL[analyte]
    params = {"what": what, "lab": reading.entered, "limit": _num(maximum), "unit": unit}
    if reading.unit != unit:
        template = gettext_noop(
            "%(what)s %(lab)s = %(value)s %(unit)s; excluded above %(limit)s %(unit)s"
        )
        params["value"] = _num(reading.value, maximum)
    else:
        template = gettext_noop("%(what)s %(lab)s; excluded above %(limit)s %(unit)s")
    if reading.value > maximum:
        return _not_met(Reason(f"{analyte}_above_max", template, params))
    return _met(Reason(f"{analyte}_max_met", template, params))


@dataclass(frozen=True)
class _UlnReading:
    value: Decimal  # canonical unit
    uln: Decimal  # canonical unit
    entered: Reason  # "ALT 120 U/L"
    uln_text: Reason  # "ULN 40 U/L" or "ULN 1.2 mg/dL (= 106.08 umol/L)"

    @property
    def ratio(self) -> Decimal:
        return self.value / self.uln

    def describe(self, limit: Decimal) -> Reason:
        return _t(
            "x_uln",
            gettext_noop("%(lab)s = %(ratio)s × %(uln)s"),
            lab=self.entered,
            ratio=_ratio(self.ratio, limit),
            uln=self.uln_text,
        )


def _read_vs_uln(
    lab: Lab | None, analyte: str, ranges: Mapping[str, RefRange], on: date | None
) -> _UlnReading | Reason:
    """Read a lab and the site's ULN for it, both in the canonical unit (PROTOCOL.md I08)."""
    reading = _read(lab, analyte)
    if isinstance(reading, Reason):
        return reading
    name = _name(analyte)
    ref = ranges.get(analyte)
    if ref is None:
        if on is None:
            return _t(
                f"{analyte}_no_range",
                gettext_noop("no reference range for %(lab)s at this site"),
                lab=name,
            )
        return _t(
            f"{analyte}_no_range",
            gettext_noop("no reference range for %(lab)s at this site on %(on)s"),
            lab=name,
            on=on,
        )
    if ref.uln is None or _dec(ref.uln) <= 0:
        return _t(
            f"{analyte}_range_without_uln",
            gettext_noop("reference range for %(lab)s (from %(start)s) has no usable ULN"),
            lab=name,
            start=ref.valid_from,
        )
    uln_entered = _dec(ref.uln)
    try:
        uln = convert(uln_entered, ref.unit, CANONICAL[analyte], analyte=analyte)
        uln_in_lab_unit = convert(uln_entered, ref.unit, reading.unit, analyte=analyte)
    except UnitError:
        return _t(
            f"{analyte}_range_unit_not_allowed",
            gettext_noop(
                "reference range for %(lab)s: %(unit)s is not a unit for %(lab)s; use %(allowed)s."
            ),
            lab=name,
            unit=ref.unit,
            allowed=OrList(RANGE_UNITS[analyte]),
        )
    ref_unit = normalise_unit(ref.unit)
    if ref_unit != reading.unit:
        uln_text = _t(
            "uln_converted",
            gettext_noop("ULN %(uln)s %(unit)s (= %(converted)s %(lab_unit)s)"),
            uln=_entered(uln_entered),
            unit=ref_unit,
            converted=_num(uln_in_lab_unit),
            lab_unit=reading.unit,
        )
    else:
        uln_text = _t(
            "uln", gettext_noop("ULN %(uln)s %(unit)s"), uln=_entered(uln_entered), unit=ref_unit
        )
    return _UlnReading(reading.value, uln, reading.entered, uln_text)


_WITH_LIVER_METS = _t("with_liver_mets", gettext_noop(" with liver metastases"))
_WITHOUT_LIVER_METS = _t("without_liver_mets", gettext_noop(" without liver metastases"))
_NO_NOTE = _t("no_note", "")


def _at_most_uln(
    lab: Lab | None,
    analyte: str,
    ranges: Mapping[str, RefRange],
    on: date | None,
    times: Decimal,
    note: Reason = _NO_NOTE,
) -> _Part:
    """PROTOCOL.md I08 "<= k x ULN" rules (creatinine, BUN, bilirubin, AST, ALT)."""
    reading = _read_vs_uln(lab, analyte, ranges, on)
    if isinstance(reading, Reason):
        return _missing(reading)
    template = gettext_noop("%(reading)s; limit %(times)s × ULN%(note)s")
    params = {"reading": reading.describe(times), "times": _num(times), "note": note}
    if reading.value <= times * reading.uln:
        return _met(Reason(f"{analyte}_uln_met", template, params))
    return _not_met(Reason(f"{analyte}_above_uln", template, params))


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
        return _at_most_uln(lab, analyte, ranges, on, high, _WITH_LIVER_METS)
    if liver_metastases is False:
        return _at_most_uln(lab, analyte, ranges, on, low, _WITHOUT_LIVER_METS)
    reading = _read_vs_uln(lab, analyte, ranges, on)
    if isinstance(reading, Reason):
        return _missing(reading)
    if reading.value <= low * reading.uln:
        return _met(
            _t(
                f"{analyte}_uln_met",
                gettext_noop("%(reading)s; limit %(times)s × ULN"),
                reading=reading.describe(low),
                times=_num(low),
            )
        )
    if reading.value <= high * reading.uln:
        return _missing(
            _t(
                f"{analyte}_needs_liver_mets_answer",
                gettext_noop(
                    "%(reading)s; passes only with liver metastases (limit %(high)s × ULN, "
                    "else %(low)s × ULN): liver metastases not recorded"
                ),
                reading=reading.describe(low),
                high=_num(high),
                low=_num(low),
            )
        )
    return _not_met(
        _t(
            f"{analyte}_above_uln",
            gettext_noop("%(reading)s; limit %(times)s × ULN even with liver metastases"),
            reading=reading.describe(high),
            times=_num(high),
        )
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
    params = {"creatinine": creatinine[1][0], "clearance": clearance[1][0]}
    if any(status is Status.MET for status, _r in both):
        return _met(_t("renal_met", gettext_noop("%(creatinine)s, or %(clearance)s"), **params))
    if all(status is Status.NOT_MET for status, _r in both):
        return _not_met(
            _t(
                "renal_not_met",
                gettext_noop("%(creatinine)s, or %(clearance)s: neither met"),
                **params,
            )
        )
    return _missing(
        _t(
            "renal_incomplete",
            gettext_noop("%(creatinine)s, or %(clearance)s: neither met yet"),
            **params,
        )
    )


def _lvef(value: Decimal | None) -> _Part:
    """PROTOCOL.md I08: LVEF >= 50 % (Doppler echocardiography)."""
    if value is None:
        return _missing(_t("lvef_missing", gettext_noop("LVEF missing")))
    value = _dec(value)
    template = gettext_noop("LVEF %(value)s %%; needs >= %(limit)s %%")
    params = {"value": _entered(value), "limit": _num(P.LVEF_MIN_PERCENT)}
    if value >= P.LVEF_MIN_PERCENT:
        return _met(Reason("lvef_met", template, params))
    return _not_met(Reason("lvef_below_min", template, params))


# --- Inclusion ----------------------------------------------------------------------------------


def _i01(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I01: consent signed and dated before any study procedure."""
    consent, first = data.consent_date, data.first_procedure_date
    if consent is None:
        return _missing(_t("consent_date_missing", gettext_noop("consent date missing")))
    if first is None:
        return _missing(
            _t(
                "first_procedure_date_missing",
                gettext_noop("date of the first study procedure missing"),
            )
        )
    params = {"consent": consent, "first": first}
    if consent <= first:
        return _met(
            _t(
                "consent_before_procedures",
                gettext_noop("consent %(consent)s on or before first procedure %(first)s"),
                **params,
            )
        )
    return _not_met(
        _t(
            "consent_after_procedures",
            gettext_noop("consent %(consent)s is after the first study procedure %(first)s"),
            **params,
        )
    )


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
    if consent is None:
        return _missing(
            _t(
                "consent_date_missing_for_age",
                gettext_noop("consent date missing (age is taken at consent)"),
            )
        )
    born, year = data.date_of_birth, data.year_of_birth
    if born is not None:
        if year is not None and year != born.year:
            return _missing(
                _t(
                    "birth_data_disagree",
                    gettext_noop("date of birth %(born)s and year of birth %(year)s disagree"),
                    born=born,
                    year=year,
                )
            )
        if born > consent:
            return _missing(
                _t(
                    "born_after_consent",
                    gettext_noop("date of birth %(born)s is after consent %(consent)s"),
                    born=born,
                    consent=consent,
                )
            )
        age = age_on(born, consent)
        template = gettext_noop(
            "age %(age)s at consent %(consent)s (born %(born)s); needs %(low)s-%(high)s"
        )
        params = {"age": age, "consent": consent, "born": born, "low": low, "high": high}
        if low <= age <= high:
            return _met(Reason("age_in_range", template, params))
        return _not_met(Reason("age_out_of_range", template, params))
    if year is None:
        return _missing(_t("date_of_birth_missing", gettext_noop("date of birth missing")))
    if year > consent.year:
        return _missing(
            _t(
                "born_after_consent",
                gettext_noop("year of birth %(year)s is after consent %(consent)s"),
                year=year,
                consent=consent,
            )
        )
    oldest = consent.year - year
    # On 31 December every birthday of the year has passed, so the age is certain.
    ages = {oldest} if (consent.month, consent.day) == (12, 31) else {oldest - 1, oldest}
    inside = {age for age in ages if low <= age <= high}
    params = {
        "year": year,
        "ages": OrList(sorted(ages)),
        "consent": consent,
        "low": low,
        "high": high,
    }
    template = gettext_noop(
        "born in %(year)s: age %(ages)s at consent %(consent)s; needs %(low)s-%(high)s"
    )
    if inside == ages:
        return _met(Reason("age_in_range", template, params))
    if not inside:
        return _not_met(Reason("age_out_of_range", template, params))
    return _missing(
        _t(
            "full_date_of_birth_needed",
            gettext_noop("%(age)s; full date of birth needed"),
            age=Reason("age_uncertain", template, params),
        )
    )


def _i03(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I03: ECOG performance status 0-2."""
    if data.ecog is None:
        return _missing(_t("ecog_missing", gettext_noop("ECOG missing")))
    if not 0 <= data.ecog <= ECOG_SCALE_MAX:
        return _missing(
            _t(
                "ecog_not_a_score",
                gettext_noop("ECOG %(ecog)s is not a score (0-%(scale)s)"),
                ecog=data.ecog,
                scale=ECOG_SCALE_MAX,
            )
        )
    template = gettext_noop("ECOG %(ecog)s; needs 0-%(max)s")
    params = {"ecog": data.ecog, "max": P.ECOG_MAX}
    if data.ecog <= P.ECOG_MAX:
        return _met(Reason("ecog_met", template, params))
    return _not_met(Reason("ecog_above_max", template, params))


def _i04(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I04: expected survival > 3 months, investigator judgement."""
    months = P.EXPECTED_SURVIVAL_MIN_MONTHS
    if data.expected_survival_attested is None:
        return _missing(
            _t(
                "survival_not_answered",
                gettext_noop("investigator has not attested survival > %(months)s months"),
                months=months,
            )
        )
    if data.expected_survival_attested:
        return (
            Status.ATTESTED,
            (
                _t(
                    "survival_expected",
                    gettext_noop("expected survival > %(months)s months"),
                    months=months,
                ),
            ),
        )
    return _not_met(
        _t(
            "survival_not_expected",
            gettext_noop("investigator does not expect survival > %(months)s months"),
            months=months,
        )
    )


_HISTOLOGY_TERMS = {
    "synovial_sarcoma": gettext_noop("Synovial sarcoma"),
    "leiomyosarcoma": gettext_noop("Leiomyosarcoma"),
    "liposarcoma": gettext_noop("Liposarcoma"),
    "angiosarcoma": gettext_noop("Angiosarcoma"),
    "mpnst": gettext_noop("Malignant peripheral nerve sheath tumour"),
    "undifferentiated_sarcoma": gettext_noop("Undifferentiated sarcoma"),
    "rhabdomyosarcoma": gettext_noop("Rhabdomyosarcoma"),
    "chondrosarcoma": gettext_noop("Chondrosarcoma"),
    "osteosarcoma": gettext_noop("Osteosarcoma"),
    "dfsp": gettext_noop("Dermatofibrosarcoma protuberans"),
    "gist": gettext_noop("Gastrointestinal stromal tumour (GIST)"),
    "ewing_pnet": gettext_noop("Ewing sarcoma / PNET"),
    "imt": gettext_noop("Inflammatory myofibroblastic tumour"),
    "mesothelioma": gettext_noop("Malignant mesothelioma"),
}


def _histology(code: str | None, other: str) -> _Part:
    """PROTOCOL.md I05: an eligible subtype, none of those listed after "EXCEPT"."""
    if code is None or not code.strip():
        return _missing(_t("histology_missing", gettext_noop("histology missing")))
    if code in HISTOLOGY_EXCLUDED:
        return _not_met(
            _t(
                "histology_excluded",
                gettext_noop("histology %(histology)s is excluded"),
                histology=Term(_HISTOLOGY_TERMS[code]),
            )
        )
    if code not in HISTOLOGY_ALLOWED:
        return _missing(
            _t(
                "histology_unknown",
                gettext_noop("unknown histology code %(value)s"),
                value=repr(code),
            )
        )
    if code == "other_sts":
        if not other.strip():
            return _missing(
                _t(
                    "histology_other_unspecified",
                    gettext_noop("histology 'other soft-tissue sarcoma' not specified"),
                )
            )
        return _met(
            _t(
                "histology_other",
                gettext_noop("histology other soft-tissue sarcoma: %(other)s"),
                other=other.strip(),
            )
        )
    return _met(
        _t(
            "histology_allowed",
            gettext_noop("histology %(histology)s"),
            histology=Term(_HISTOLOGY_TERMS[code]),
        )
    )


def _i05(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I05: pathologically confirmed advanced STS of an eligible subtype."""
    return _combine(
        [
            _yes_required(
                data.pathologically_confirmed,
                _t("pathologically_confirmed", gettext_noop("pathologically confirmed")),
            ),
            _yes_required(
                data.advanced_or_metastatic,
                _t("advanced_or_metastatic", gettext_noop("advanced or metastatic")),
            ),
            _histology(data.histology, data.histology_other or ""),
        ]
    )


_DISEASE_TERMS = {"measurable": gettext_noop("measurable"), "evaluable": gettext_noop("evaluable")}


def _i06(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I06: evaluable, or measurable (RECIST 1.1), disease."""
    status = data.disease_status
    if status is None:
        return _missing(_t("disease_status_missing", gettext_noop("disease status missing")))
    if status in DISEASE_STATUSES_ALLOWED:
        return _met(
            _t(
                f"disease_{status}",
                gettext_noop("%(status)s disease"),
                status=Term(_DISEASE_TERMS[status]),
            )
        )
    if status == "none":
        return _not_met(
            _t("no_evaluable_disease", gettext_noop("no measurable or evaluable disease"))
        )
    return _missing(
        _t(
            "disease_status_unknown",
            gettext_noop("unknown disease status %(value)s"),
            value=repr(status),
        )
    )


def _i07(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I07: PR or SD after >= 4 cycles of first-line anthracycline chemotherapy."""
    minimum = P.MIN_PRIOR_ANTHRACYCLINE_CYCLES
    parts = [
        _yes_required(
            data.anthracycline_first_line,
            _t("anthracycline_first_line", gettext_noop("first-line anthracycline")),
        )
    ]
    cycles = data.anthracycline_cycles
    if cycles is None:
        parts.append(
            _missing(
                _t(
                    "anthracycline_cycles_missing",
                    gettext_noop("number of anthracycline cycles missing"),
                )
            )
        )
    else:
        template = gettext_noop("%(cycles)s anthracycline cycles; needs >= %(min)s")
        params = {"cycles": cycles, "min": minimum}
        if cycles >= minimum:
            parts.append(_met(Reason("anthracycline_cycles_met", template, params)))
        else:
            parts.append(_not_met(Reason("anthracycline_cycles_too_few", template, params)))
    response = data.best_response
    allowed = OrList(BEST_RESPONSES_ALLOWED)
    template = gettext_noop("best response %(response)s; needs %(allowed)s")
    if response is None:
        parts.append(_missing(_t("best_response_missing", gettext_noop("best response missing"))))
    elif response in BEST_RESPONSES_ALLOWED:
        parts.append(_met(_t("best_response_met", template, response=response, allowed=allowed)))
    elif response in BEST_RESPONSES:
        parts.append(
            _not_met(_t("best_response_not_allowed", template, response=response, allowed=allowed))
        )
    else:
        parts.append(
            _missing(
                _t(
                    "best_response_unknown",
                    gettext_noop("unknown best response %(value)s"),
                    value=repr(response),
                )
            )
        )
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


_TEST_TYPES = {"serum": gettext_noop("serum "), "urine": gettext_noop("urine ")}


def _pregnancy_test(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I09: negative pregnancy test within 7 days before the first dose (C1D1)."""
    window = P.PREGNANCY_TEST_MAX_DAYS_BEFORE_FIRST_DOSE
    result = data.pregnancy_test_result
    if result is None:
        return _missing(
            _t("pregnancy_test_result_missing", gettext_noop("pregnancy test result missing"))
        )
    if result == "positive":
        return _not_met(_t("pregnancy_test_positive", gettext_noop("pregnancy test positive")))
    if result != "negative":
        return _missing(
            _t(
                "pregnancy_test_result_unknown",
                gettext_noop("unknown pregnancy test result %(value)s"),
                value=repr(result),
            )
        )
    tested, c1d1 = data.pregnancy_test_date, data.planned_c1d1
    if tested is None:
        return _missing(
            _t("pregnancy_test_date_missing", gettext_noop("pregnancy test date missing"))
        )
    if c1d1 is None:
        return _missing(
            _t(
                "planned_c1d1_missing",
                gettext_noop(
                    "planned C1D1 missing (the pregnancy test must be within %(days)s days before)"
                ),
                days=window,
            )
        )
    days = (c1d1 - tested).days
    kind = data.pregnancy_test_type
    params = {
        "kind": Term(_TEST_TYPES[kind]) if kind in _TEST_TYPES else (f"{kind} " if kind else ""),
        "tested": tested,
        "c1d1": c1d1,
        "days": days,
        "window": window,
    }
    if days < 0:
        return _not_met(
            _t(
                "pregnancy_test_after_c1d1",
                gettext_noop(
                    "negative %(kind)spregnancy test %(tested)s is after planned C1D1 %(c1d1)s; "
                    "must be 0-%(window)s days before"
                ),
                **params,
            )
        )
    if days > window:
        return _not_met(
            _t(
                "pregnancy_test_too_old",
                gettext_noop(
                    "negative %(kind)spregnancy test %(tested)s is %(days)s days before planned "
                    "C1D1 %(c1d1)s: test is older than %(window)s days before C1D1"
                ),
                **params,
            )
        )
    return _met(
        _t(
            "pregnancy_test_met",
            gettext_noop(
                "negative %(kind)spregnancy test %(tested)s is %(days)s days before planned "
                "C1D1 %(c1d1)s; needs 0-%(window)s days"
            ),
            **params,
        )
    )


_CONTRACEPTION = _t("contraception_agreed", gettext_noop("contraception agreed"))


def _i09(data: ScreeningInput) -> _Part:
    """PROTOCOL.md I09: contraception agreed by men and by women of childbearing potential
    (during the study and 6 months after); such women also not lactating and with a negative
    pregnancy test within 7 days before the first dose. A woman without childbearing
    potential needs none of these.
    """
    parts = []
    if data.sex is None:
        parts.append(
            _missing(
                _t(
                    "sex_missing",
                    gettext_noop("sex missing (decides whether a pregnancy test is needed)"),
                )
            )
        )
    elif data.sex == "M":
        parts.append(_yes_required(data.contraception_agreed, _CONTRACEPTION))
    elif data.sex == "F":
        if data.childbearing_potential is None:
            parts.append(
                _missing(
                    _t(
                        "childbearing_potential_not_answered",
                        gettext_noop("childbearing potential not answered"),
                    )
                )
            )
        elif data.childbearing_potential:
            parts.append(_yes_required(data.contraception_agreed, _CONTRACEPTION))
            parts.append(_yes_excludes(data.lactating, _t("lactating", gettext_noop("lactating"))))
            parts.append(_pregnancy_test(data))
        else:
            parts.append(
                _met(
                    _t(
                        "no_childbearing_potential",
                        gettext_noop(
                            "woman without childbearing potential: no contraception or "
                            "pregnancy test needed"
                        ),
                    )
                )
            )
    else:
        parts.append(
            _missing(_t("sex_unknown", gettext_noop("unknown sex %(value)s"), value=repr(data.sex)))
        )
    return _combine(parts)


# --- Exclusion ----------------------------------------------------------------------------------


def _e01(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E01: prior anlotinib."""
    return _yes_excludes(
        data.prior_anlotinib, _t("prior_anlotinib", gettext_noop("prior anlotinib"))
    )


def _e02(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E02: another malignancy within the last 5 years."""
    years = P.PRIOR_MALIGNANCY_YEARS
    return _yes_excludes(
        data.other_malignancy_5y,
        _t(
            "other_malignancy",
            gettext_noop("another malignancy within %(years)s years"),
            years=years,
        ),
    )


_RADIOTHERAPY_TERMS = {
    "none": gettext_noop("none"),
    "local": gettext_noop("local"),
    "extended_field": gettext_noop("extended_field"),
}


def _e03(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E03: systemic therapy within 4 weeks before enrolment or planned;
    extended-field radiotherapy within 4 weeks."""
    parts = [
        _days_before(
            data.last_systemic_therapy_date,
            data.enrolment_date,
            what=_t("last_systemic_therapy", gettext_noop("last systemic therapy")),
            ref_name=_ENROLMENT,
            minimum=P.SYSTEMIC_THERAPY_WASHOUT_DAYS,
        ),
        _yes_excludes(
            data.systemic_therapy_planned,
            _t(
                "systemic_therapy_planned",
                gettext_noop("systemic therapy planned during the study"),
            ),
        ),
    ]
    kind = data.radiotherapy_type
    if kind is None:
        parts.append(
            _missing(_t("radiotherapy_type_missing", gettext_noop("radiotherapy type missing")))
        )
    elif kind == "extended_field":
        parts.append(
            _days_before(
                data.radiotherapy_date,
                data.enrolment_date,
                what=_t("extended_field_radiotherapy", gettext_noop("extended-field radiotherapy")),
                ref_name=_ENROLMENT,
                minimum=P.RADIOTHERAPY_WASHOUT_DAYS,
            )
        )
    elif kind in RADIOTHERAPY_TYPES:
        parts.append(
            _met(
                _t(
                    f"radiotherapy_{kind}",
                    gettext_noop("radiotherapy: %(kind)s (no washout)"),
                    kind=Term(_RADIOTHERAPY_TERMS[kind]),
                )
            )
        )
    else:
        parts.append(
            _missing(
                _t(
                    "radiotherapy_type_unknown",
                    gettext_noop("unknown radiotherapy type %(value)s"),
                    value=repr(kind),
                )
            )
        )
    return _combine(parts)


def _e04(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E04: unresolved toxicity > CTCAE grade 1 (alopecia excepted)."""
    return _yes_excludes(
        data.unresolved_toxicity_gt1,
        _t("unresolved_toxicity", gettext_noop("unresolved toxicity > grade 1")),
    )


def _e05(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E05: conditions preventing oral medication."""
    return _yes_excludes(
        data.cannot_take_oral, _t("cannot_take_oral", gettext_noop("cannot take oral medication"))
    )


def _e06(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E06: effusion or ascites with dyspnoea > CTCAE grade 2."""
    return _yes_excludes(
        data.effusion_dyspnoea_gt2,
        _t("effusion_dyspnoea", gettext_noop("effusion/ascites with dyspnoea > grade 2")),
    )


def _e07(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E07: brain metastases not controlled, or controlled for < 2 months."""
    state, months = data.brain_metastases, P.BRAIN_METS_CONTROLLED_MIN_MONTHS
    if state is None:
        return _missing(
            _t("brain_metastases_not_answered", gettext_noop("brain metastases not answered"))
        )
    if state not in BRAIN_METASTASES_STATES:
        return _missing(
            _t(
                "brain_metastases_unknown",
                gettext_noop("unknown brain metastases state %(value)s"),
                value=repr(state),
            )
        )
    if state == "none":
        return _met(_t("no_brain_metastases", gettext_noop("no brain metastases")))
    if state == "uncontrolled":
        return _not_met(
            _t("brain_metastases_uncontrolled", gettext_noop("brain metastases not controlled"))
        )
    since, enrolment = data.brain_metastases_controlled_since, data.enrolment_date
    if since is None:
        return _missing(
            _t(
                "brain_metastases_since_missing",
                gettext_noop("date brain metastases controlled since missing"),
            )
        )
    if enrolment is None:
        return _missing(_date_missing(_ENROLMENT))
    due = add_months(since, months)
    params = {"since": since, "months": months, "due": due, "enrolment": enrolment}
    if due <= enrolment:
        return _met(
            _t(
                "brain_metastases_controlled",
                gettext_noop(
                    "brain metastases controlled since %(since)s; %(months)s months later is "
                    "%(due)s, enrolment %(enrolment)s"
                ),
                **params,
            )
        )
    return _not_met(
        _t(
            "brain_metastases_controlled_too_briefly",
            gettext_noop(
                "brain metastases controlled since %(since)s; %(months)s months later is "
                "%(due)s, enrolment %(enrolment)s: controlled for less than %(months)s months"
            ),
            **params,
        )
    )


def _e08(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E08: thyroid dysfunction despite best supportive treatment."""
    return _yes_excludes(
        data.thyroid_dysfunction, _t("thyroid_dysfunction", gettext_noop("thyroid dysfunction"))
    )


def _e09a(data: ScreeningInput) -> list[_Part]:
    """PROTOCOL.md E09 (a): systolic >= 140 or diastolic >= 90 mmHg."""
    parts = []
    for code, label, value, limit in (
        ("sbp", gettext_noop("systolic"), data.sbp, P.SBP_MAX_EXCLUSIVE),
        ("dbp", gettext_noop("diastolic"), data.dbp, P.DBP_MAX_EXCLUSIVE),
    ):
        if value is None:
            parts.append(
                _missing(
                    _t(f"{code}_missing", gettext_noop("(a) %(bp)s BP missing"), bp=Term(label))
                )
            )
            continue
        template = gettext_noop("(a) %(bp)s BP %(value)s mmHg; excluded at >= %(limit)s")
        params = {"bp": Term(label), "value": value, "limit": limit}
        if value >= limit:
            parts.append(_not_met(Reason(f"{code}_too_high", template, params)))
        else:
            parts.append(_met(Reason(f"{code}_met", template, params)))
    return parts


def _e09b(data: ScreeningInput) -> list[_Part]:
    """PROTOCOL.md E09 (b): cardiac disease; QTc >= 450 ms (men) / >= 470 ms (women)."""
    men, women = P.QTC_EXCLUDE_MEN_MS, P.QTC_EXCLUDE_WOMEN_MS
    parts = [
        _yes_excludes(
            data.cardiac_disease,
            _t(
                "cardiac_disease",
                gettext_noop(
                    "(b) arrhythmia, ischaemia/infarction >= grade II or NYHA >= 2 heart failure"
                ),
            ),
        )
    ]
    qtc = data.qtc_ms
    limits = _t(
        "qtc_limits",
        gettext_noop("excluded at >= %(men)s ms (men) / >= %(women)s ms (women)"),
        men=men,
        women=women,
    )
    if qtc is None:
        parts.append(_missing(_t("qtc_missing", gettext_noop("(b) QTc missing"))))
    elif qtc >= max(men, women) or qtc < min(men, women):
        template = gettext_noop("(b) QTc %(qtc)s ms; %(limits)s")
        params = {"qtc": qtc, "limits": limits}
        if qtc >= max(men, women):
            parts.append(_not_met(Reason("qtc_too_long", template, params)))
        else:
            parts.append(_met(Reason("qtc_met", template, params)))
    elif data.sex in ("M", "F"):
        limit = men if data.sex == "M" else women
        if data.sex == "M":
            template = gettext_noop("(b) QTc %(qtc)s ms; excluded at >= %(limit)s ms in men")
        else:
            template = gettext_noop("(b) QTc %(qtc)s ms; excluded at >= %(limit)s ms in women")
        params = {"qtc": qtc, "limit": limit}
        if qtc >= limit:
            parts.append(_not_met(Reason("qtc_too_long", template, params)))
        else:
            parts.append(_met(Reason("qtc_met", template, params)))
    else:
        parts.append(
            _missing(
                _t(
                    "qtc_needs_sex",
                    gettext_noop("(b) QTc %(qtc)s ms: sex needed (%(limits)s)"),
                    qtc=qtc,
                    limits=limits,
                )
            )
        )
    return parts


def _hepatitis_b(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E09 (e): active hepatitis B = HBsAg+ and HBV DNA >= 500 IU/mL."""
    limit = P.HBV_DNA_EXCLUDE_IU_ML
    if data.hbsag_positive is None:
        return _missing(_t("hbsag_missing", gettext_noop("(e) HBsAg missing")))
    if not data.hbsag_positive:
        return _met(_t("hbsag_negative", gettext_noop("(e) HBsAg negative")))
    if data.hbv_dna_iu_ml is None:
        return _missing(_t("hbv_dna_missing", gettext_noop("(e) HBsAg positive: HBV DNA missing")))
    dna = _dec(data.hbv_dna_iu_ml)
    template = gettext_noop("(e) HBsAg positive, HBV DNA %(dna)s IU/mL; excluded at >= %(limit)s")
    params = {"dna": _entered(dna), "limit": limit}
    if dna >= limit:
        return _not_met(Reason("active_hepatitis_b", template, params))
    return _met(Reason("hbv_dna_below_limit", template, params))


def _hepatitis_c(data: ScreeningInput, ranges: Mapping[str, RefRange]) -> _Part:
    """PROTOCOL.md E09 (e): active hepatitis C = HCV RNA+ with ALT or AST above the ULN."""
    if data.hcv_rna_positive is None:
        return _missing(_t("hcv_rna_missing", gettext_noop("(e) HCV RNA missing")))
    if not data.hcv_rna_positive:
        return _met(_t("hcv_rna_negative", gettext_noop("(e) HCV RNA negative")))
    limit = HCV_LIVER_FUNCTION_MAX_X_ULN
    abnormal, normal, missing = [], [], []
    for analyte, lab in (("alt", data.alt), ("ast", data.ast)):
        reading = _read_vs_uln(lab, analyte, ranges, data.lab_date)
        if isinstance(reading, Reason):
            missing.append(reading)
        elif reading.value > limit * reading.uln:
            abnormal.append(reading.describe(limit))
        else:
            normal.append(reading.describe(limit))
    if abnormal:
        return _not_met(
            _t(
                "active_hepatitis_c",
                gettext_noop("(e) HCV RNA positive with abnormal liver function: %(labs)s"),
                labs=CommaList(abnormal),
            )
        )
    if missing:
        return _missing(
            _t(
                "hcv_liver_function_unknown",
                gettext_noop("(e) HCV RNA positive, liver function unknown: %(labs)s"),
                labs=CommaList(missing),
            )
        )
    return _met(
        _t(
            "hcv_liver_function_normal",
            gettext_noop("(e) HCV RNA positive, liver function normal: %(labs)s"),
            labs=CommaList(normal),
        )
    )


def _proteinuria(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E09 (f): urine protein >= ++ or 24-h protein >= 1.0 g."""
    dip, grams = data.urine_protein_dipstick, data.urine_protein_24h_g
    plus, limit_g = P.URINE_PROTEIN_EXCLUDE_DIPSTICK_PLUS, P.URINE_PROTEIN_24H_EXCLUDE_G
    if dip is not None and not 0 <= dip <= URINE_DIPSTICK_MAX:
        return _missing(
            _t(
                "dipstick_not_a_reading",
                gettext_noop("(f) urine dipstick %(dip)s is not a reading (0-%(max)s)"),
                dip=dip,
                max=URINE_DIPSTICK_MAX,
            )
        )
    shown = []
    if dip is not None:
        shown.append(
            _t("dipstick", gettext_noop("dipstick %(reading)s"), reading=_dipstick_term(dip))
        )
    if grams is not None:
        shown.append(
            _t(
                "protein_24h",
                gettext_noop("24-h protein %(grams)s g"),
                grams=_entered(_dec(grams)),
            )
        )
    if dip is None and grams is None:
        return _missing(
            _t(
                "urine_protein_missing",
                gettext_noop("(f) urine protein missing (dipstick or 24-h)"),
            )
        )
    template = gettext_noop("(f) urine %(shown)s; excluded at >= %(plus)s or >= %(grams)s g/24 h")
    params = {"shown": CommaList(shown), "plus": _dipstick_term(plus), "grams": limit_g}
    if (dip is not None and dip >= plus) or (grams is not None and _dec(grams) >= limit_g):
        return _not_met(Reason("proteinuria", template, params))
    return _met(Reason("no_proteinuria", template, params))


def _dipstick_term(reading: int):
    return Term(gettext_noop("negative/trace")) if reading == 0 else _DIPSTICK[reading]


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
                _t("fasting", gettext_noop("(c) fasting")),
            ),
            _yes_excludes(
                data.active_infection_ge2,
                _t("active_infection", gettext_noop("(d) active infection >= grade 2")),
            ),
            _hepatitis_b(data),
            _hepatitis_c(data, ranges),
            _yes_excludes(
                data.infection_needing_antimicrobials,
                _t(
                    "infection_needing_antimicrobials",
                    gettext_noop("(e) infection needing antimicrobials"),
                ),
            ),
            _proteinuria(data),
            _yes_excludes(
                data.seizures_needing_treatment,
                _t("seizures", gettext_noop("(g) seizures needing treatment")),
            ),
        ]
    )


def _never_or_washout(
    none: bool | None,
    when: date | None,
    enrolment: date | None,
    *,
    what: Reason,
    never: Reason,
    minimum: int,
) -> _Part:
    """An event recorded as "never", or dated at least ``minimum`` days before enrolment."""
    if none and when is not None:
        return _missing(
            _t(
                f"{never.code}_but_dated",
                gettext_noop("%(never)s is ticked but a %(what)s date %(when)s is recorded"),
                never=never,
                what=what,
                when=when,
            )
        )
    if none:
        return _met(never)
    return _days_before(when, enrolment, what=what, ref_name=_ENROLMENT, minimum=minimum)


def _e10(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E10: surgery, incisional biopsy or significant trauma within 28 days."""
    return _never_or_washout(
        data.surgery_none,
        data.surgery_date,
        data.enrolment_date,
        what=_t("surgery", gettext_noop("surgery/biopsy/trauma")),
        never=_t("no_surgery", gettext_noop("no surgery, biopsy or significant trauma")),
        minimum=P.SURGERY_WASHOUT_DAYS,
    )


def _judgement(
    answer: bool | None, *, unanswered: Reason, excluded: Reason, attested: Reason
) -> _Part:
    """An exclusion the investigator judges: yes excludes, no is attested, blank is missing."""
    if answer is None:
        return _missing(unanswered)
    if answer:
        return _not_met(excluded)
    return (Status.ATTESTED, (attested,))


def _e11(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E11: tumour likely to invade major vessels (investigator judgement)."""
    return _judgement(
        data.major_vessel_invasion_risk,
        unanswered=_t(
            "vessel_invasion_not_judged",
            gettext_noop("investigator has not judged the risk of major-vessel invasion"),
        ),
        excluded=_t(
            "vessel_invasion_likely",
            gettext_noop("investigator judges the tumour likely to invade major vessels / bleed"),
        ),
        attested=_t("no_vessel_invasion_risk", gettext_noop("no major-vessel invasion risk")),
    )


def _e12(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E12: unhealed wound/ulcer/fracture; bleeding > grade 3 within 4 weeks."""
    days = P.BLEEDING_LOOKBACK_DAYS
    return _combine(
        [
            _yes_excludes(
                data.unhealed_wound_or_fracture,
                _t("unhealed_wound", gettext_noop("unhealed wound, ulcer or fracture")),
            ),
            _yes_excludes(
                data.bleeding_gt3_4w,
                _t(
                    "bleeding",
                    gettext_noop("bleeding > grade 3 within %(days)s days"),
                    days=days,
                ),
            ),
        ]
    )


def _e13(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E13: arterial or venous thrombosis within 6 months."""
    months = P.THROMBOSIS_LOOKBACK_MONTHS
    return _yes_excludes(
        data.thrombosis_6m,
        _t("thrombosis", gettext_noop("thrombosis within %(months)s months"), months=months),
    )


def _e14(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E14: psychotropic substance abuse or mental disorder."""
    return _yes_excludes(
        data.psychiatric_or_substance,
        _t("substance_or_mental", gettext_noop("substance abuse or mental disorder")),
    )


def _e15(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E15: another anti-tumour trial within 4 weeks."""
    return _never_or_washout(
        data.other_trial_none,
        data.other_trial_date,
        data.enrolment_date,
        what=_t("other_trial", gettext_noop("last other anti-tumour trial")),
        never=_t("no_other_trial", gettext_noop("no other anti-tumour trial")),
        minimum=P.OTHER_TRIAL_WASHOUT_DAYS,
    )


def _e16(data: ScreeningInput) -> _Part:
    """PROTOCOL.md E16: any other condition the investigator judges unsafe (judgement)."""
    return _judgement(
        data.investigator_unsafe_judgement,
        unanswered=_t(
            "safety_not_judged",
            gettext_noop("investigator has not given the overall safety judgement"),
        ),
        excluded=_t("judged_unsafe", gettext_noop("investigator judges participation unsafe")),
        attested=_t("no_other_unsafe_condition", gettext_noop("no other unsafe condition")),
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
        status, reasons = _RULES[code](data, ranges)
        results.append(CriterionResult(code, kind, title, status, reasons))
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
