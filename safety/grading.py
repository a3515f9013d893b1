"""CTCAE v4.03 grade of one laboratory value, a blood pressure or an ECG QTc.

Source: Common Terminology Criteria for Adverse Events (CTCAE) version 4.03, US National Cancer
Institute (NCI), Cancer Therapy Evaluation Program, published 14 June 2010 (``docs/PROTOCOL.md``,
"Outcomes": safety graded by CTCAE v4.03), as transcribed in ``shared/data/ctcae_v4.03.csv``.
Terms used (the wording of each grade is copied verbatim from the dictionary into
:data:`WORDING`, and :attr:`GradeResult.definition` is always one of those cells):
Anemia; Hemoglobin increased; White blood cell decreased; Neutrophil count decreased; Platelet
count decreased; Alanine aminotransferase increased; Aspartate aminotransferase increased; Blood
bilirubin increased; Creatinine increased; Hypoalbuminemia; Hypoglycemia; Hyperglycemia;
Hypertriglyceridemia; Cholesterol high; Proteinuria; Hypothyroidism; Hyperthyroidism;
Electrocardiogram QT corrected interval prolonged; Hypertension; Fever; Weight loss; Weight gain.

What a grade means here: the grade the *number alone* supports. CTCAE separates alternatives
within a grade by semicolons (its introduction: a semi-colon means "or"), so clinical
alternatives (e.g. "transfusion indicated", "hospitalization indicated", "life-threatening
consequences", "medical intervention indicated") can make the investigator's grade higher than
the one returned here; they are never guessed. Grade 0 means "within limits / not abnormal
enough for grade 1"; ``None`` means "not gradable from a value" (clinical judgement).

Interpretations made (the dictionary leaves them implicit):

* Numbers are :class:`~decimal.Decimal` and compared exactly; ``lln``/``uln``/``baseline`` are
  in the unit of the value. A float is refused (binary rounding would move boundaries).
* Ranges written "<A - B" (grade 1 "<LLN - A", then "<A - B", then "<B") contain B and not A:
  for Anemia in g/dL ("<LLN - 10.0"; "<10.0 - 8.0"; "<8.0") exactly 10.0 is grade 1, exactly
  8.0 is grade 2, 7.9 is grade 3; grade 1 needs value < LLN (a value equal to the LLN is 0).
  Ranges written ">A - B" (">ULN - 3.0 x ULN"; ">3.0 - 5.0 x ULN") contain B and not A:
  exactly 3.0 x ULN is grade 1, 3.1 x ULN is grade 2; grade 1 needs value > ULN.
* Absolute thresholds beyond grade 1 apply whatever the laboratory's range: Hb 95 g/L with an
  LLN of 90 g/L is grade 2 ("<100 - 80 g/L") although it is not below the LLN; a glucose of
  170 mg/dL with a ULN of 180 is grade 2 (">160 - 250 mg/dL"). The LLN/ULN only decides between
  grade 0 and grade 1. A note says when this happens.
* Where the dictionary gives thresholds in several units (Anemia: 100 g/L, 10.0 g/dL,
  6.2 mmol/L ...; counts: "/mm3" and "x 10e9 /L"; albumin, glucose, lipids), the thresholds of
  the unit entered are used as written, never converted. "10e9 /L" is offered as ``10^9/L``.
  Where it gives one unit only, the other offered unit is an exact decimal rescaling (not a
  molar conversion): Proteinuria g/24 hrs x 1000 = mg/24 h; Hemoglobin increased gm/dL x 10 =
  g/L. Hemoglobin increased in mmol/L would need a molar conversion: above the reference it is
  returned as ``None`` with a note.
* Inclusive ranges written "A - B" with integer ends and a next grade starting at B + 1 (QTc
  "450 - 480" / "481 - 500" / ">= 501"; Hypertension "120 - 139" / "140 - 159" / ">=160";
  Proteinuria "1.0 - 3.4" / ">=3.5 g/24 hrs") are read as "from A up to the start of the next
  grade": a value between B and the next start (QTc 480.5 ms, 3.45 g/24 h, SBP 139.5) keeps the
  lower grade because the next grade's stated start is not reached.
* Anemia, Hypoalbuminemia: grade 4 ("Life-threatening consequences; urgent intervention
  indicated") is clinical, so values below the grade 3 threshold are grade 3 (the maximum from a
  value). Hemoglobin increased (optional direction of ``hb``) is graded on value - reference
  where the reference is the ULN, or the ``baseline`` when a baseline above the ULN is given;
  "Increase in >0 - 2 gm/dL" contains 2 (20 g/L). A value above the ULN but not above such a
  baseline is grade 0. When a value is both below the anemia thresholds and above the ULN
  (only with an absurd range), Anemia wins.
* Creatinine increased: grade by ULN (">ULN - 1.5 x ULN"; ">1.5 - 3.0"; ">3.0 - 6.0"; ">6.0")
  and, when ``baseline`` is given, by baseline (">1 - 1.5 x baseline"; ">1.5 - 3.0";
  ">3.0 baseline" read as "> 3.0 x baseline"; no grade 4 by baseline); the higher grade is
  returned. Read literally, 4.03 makes any rise above baseline grade 1 even within the normal
  range; that literal reading is applied and the note says which criterion decided.
* Glucose: Hypoglycemia below the LLN, Hyperglycemia above the ULN. Hyperglycemia grades 1 and
  2 are worded "Fasting glucose value"; no fasting status is passed, so the value is graded as
  if fasting and the note says so (a non-fasting value does not meet the grade 1-2 wording).
  Grades 3-4 are not worded "fasting" and are graded on the value.
* Hypertriglyceridemia grade 1 "150 mg/dL - 300 mg/dL; 1.71 mmol/L - 3.42 mmol/L" has no ">"
  and no ULN: exactly 150 mg/dL (1.71 mmol/L) is grade 1, below it grade 0; no range needed.
* Proteinuria (adults; the pediatric P/C ratio is not offered). Dipstick: grade 1 "1+", grade 2
  "2+"; "negative" and "trace" are grade 0 (trace is not named). 3+ and 4+ are named nowhere;
  they are at least 2+ and get grade 2, the highest a dipstick can give: grade 3 is worded only
  as "urinary protein >=3.5 g/24 hrs" (the note says so). 24-hour protein: grade 1 "urinary
  protein <1.0 g/24 hrs" is read as ">ULN - <1.0 g/24 h" (a normal amount is not proteinuria,
  the term's definition being "excessive protein"), so the ULN is required; 1.0 g is grade 2.
* Hypothyroidism / Hyperthyroidism are graded by clinical judgement in 4.03 (symptoms,
  replacement or suppression therapy indicated): TSH and FT4 give ``None``; nothing is guessed.
* QTc: grade 3 is "QTc >= 501 ms on at least two separate ECGs". One value >= 501 ms is grade 3
  only when the caller passes ``confirmed=True`` (a second separate ECG >= 501 ms exists);
  otherwise it is grade 2 with a note that a second ECG >= 501 ms is needed. Grade 4 (with
  Torsade de pointes, polymorphic ventricular tachycardia or serious arrhythmia) is clinical.
* Hypertension (adult wording): grade from the systolic ranges and from the diastolic ranges,
  the higher of the two. The other grade 2/3 criteria (medical intervention indicated,
  recurrent or persistent >=24 hrs, symptomatic increase, mono/multiple drug therapy indicated)
  and grade 4 cannot be judged from one reading; the term's definition speaks of a *repeated*
  elevation. The note says so. Systolic must exceed diastolic (catches swapped fields).
* Fever (issue 13, vital signs): "38.0 - 39.0 degrees C" contains both ends (38.0 is grade 1);
  ">39.0 - 40.0" contains 40.0 and not 39.0 (39.0 is grade 1, 39.1 grade 2); above 40.0 the
  dictionary splits grades 3 and 4 by duration ("for <=24 hrs" / "for >24 hrs"), which one
  reading cannot show: >40.0 is grade 3 with a note that lasting >24 hrs makes it grade 4.
  Below 38.0 is grade 0. Degrees Celsius only.
* Weight loss / Weight gain (issue 13, vital signs): the change from the baseline weight as a
  percentage of the baseline, compared exactly (no division: 5 % is 100 x change >= 5 x
  baseline). "5 to <10%" / "5 - <10%" contains 5 and not 10; "10 - <20%" contains 10 and not 20;
  ">=20%" contains 20. The term follows the direction (a loss is graded as Weight loss, a gain
  as Weight gain); a change below 5 % either way is grade 0 with no term. The clinical parts of
  the Weight loss wording (nutritional support, tube feeding or TPN indicated) are the
  investigator's. Percentages in notes are cut (not rounded) to 0.1, so 4.99 % shows as 4.9 %.
* Arguments not used by an analyte (``baseline`` outside hb/creatinine, ``confirmed`` outside
  QTc, an LLN or ULN it does not need) are validated when given, then ignored.

Ratios shown in notes are rounded *up* to 0.01 (display only), so "3.00 x ULN" never hides a
value above 3.0 x ULN. Pure Python: standard library only, no Django import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal, InvalidOperation, localcontext
from types import MappingProxyType

__all__ = [
    "ANALYTES",
    "WORDING",
    "Analyte",
    "GradeResult",
    "GradingError",
    "grade",
    "grade_blood_pressure",
    "grade_fever",
    "grade_weight_change",
]

# --- CTCAE v4.03 wording ----------------------------------------------------------------------
# grade_1 ... grade_5 cells of each term, copied verbatim from ctcae_v4.03.csv; "-" means the grade
# does not exist for the term.
WORDING: Mapping[str, tuple[str, str, str, str, str]] = MappingProxyType(
    {
        # MedDRA 10002272, SOC Blood and lymphatic system disorders
        "Anemia": (
            "Hemoglobin (Hgb) <LLN - 10.0 g/dL; <LLN - 6.2 mmol/L; <LLN - 100 g/L",
            "Hgb <10.0 - 8.0 g/dL; <6.2 - 4.9 mmol/L; <100 - 80g/L",
            "Hgb <8.0 g/dL; <4.9 mmol/L; <80 g/L; transfusion indicated",
            "Life-threatening consequences; urgent intervention indicated",
            "Death",
        ),
        # MedDRA 10055599, SOC Investigations
        "Hemoglobin increased": (
            "Increase in >0 - 2 gm/dL above ULN or above baseline if baseline is above ULN",
            "Increase in >2 - 4 gm/dL above ULN or above baseline if baseline is above ULN",
            "Increase in >4 gm/dL above ULN or above baseline if baseline is above ULN",
            "-",
            "-",
        ),
        # MedDRA 10049182, SOC Investigations
        "White blood cell decreased": (
            "<LLN - 3000/mm3; <LLN - 3.0 x 10e9 /L",
            "<3000 - 2000/mm3; <3.0 - 2.0 x 10e9 /L",
            "<2000 - 1000/mm3; <2.0 - 1.0 x 10e9 /L",
            "<1000/mm3; <1.0 x 10e9 /L",
            "-",
        ),
        # MedDRA 10029366, SOC Investigations
        "Neutrophil count decreased": (
            "<LLN - 1500/mm3; <LLN - 1.5 x 10e9 /L",
            "<1500 - 1000/mm3; <1.5 - 1.0 x 10e9 /L",
            "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L",
            "<500/mm3; <0.5 x 10e9 /L",
            "-",
        ),
        # MedDRA 10035528, SOC Investigations
        "Platelet count decreased": (
            "<LLN - 75,000/mm3; <LLN - 75.0 x 10e9 /L",
            "<75,000 - 50,000/mm3; <75.0 - 50.0 x 10e9 /L",
            "<50,000 - 25,000/mm3; <50.0 - 25.0 x 10e9 /L",
            "<25,000/mm3; <25.0 x 10e9 /L",
            "-",
        ),
        # MedDRA 10001551, SOC Investigations
        "Alanine aminotransferase increased": (
            ">ULN - 3.0 x ULN",
            ">3.0 - 5.0 x ULN",
            ">5.0 - 20.0 x ULN",
            ">20.0 x ULN",
            "-",
        ),
        # MedDRA 10003481, SOC Investigations
        "Aspartate aminotransferase increased": (
            ">ULN - 3.0 x ULN",
            ">3.0 - 5.0 x ULN",
            ">5.0 - 20.0 x ULN",
            ">20.0 x ULN",
            "-",
        ),
        # MedDRA 10005364, SOC Investigations
        "Blood bilirubin increased": (
            ">ULN - 1.5 x ULN",
            ">1.5 - 3.0 x ULN",
            ">3.0 - 10.0 x ULN",
            ">10.0 x ULN",
            "-",
        ),
        # MedDRA 10011368, SOC Investigations
        "Creatinine increased": (
            ">1 - 1.5 x baseline; >ULN - 1.5 x ULN",
            ">1.5 - 3.0 x baseline; >1.5 - 3.0 x ULN",
            ">3.0 baseline; >3.0 - 6.0 x ULN",
            ">6.0 x ULN",
            "-",
        ),
        # MedDRA 10020943, SOC Metabolism and nutrition disorders
        "Hypoalbuminemia": (
            "<LLN - 3 g/dL; <LLN - 30 g/L",
            "<3 - 2 g/dL; <30 - 20 g/L",
            "<2 g/dL; <20 g/L",
            "Life-threatening consequences; urgent intervention indicated",
            "Death",
        ),
        # MedDRA 10021005, SOC Metabolism and nutrition disorders
        "Hypoglycemia": (
            "<LLN - 55 mg/dL; <LLN - 3.0 mmol/L",
            "<55 - 40 mg/dL; <3.0 - 2.2 mmol/L",
            "<40 - 30 mg/dL; <2.2 - 1.7 mmol/L",
            "<30 mg/dL; <1.7 mmol/L; life-threatening consequences; seizures",
            "Death",
        ),
        # MedDRA 10020639, SOC Metabolism and nutrition disorders
        "Hyperglycemia": (
            "Fasting glucose value >ULN - 160 mg/dL; Fasting glucose value >ULN - 8.9 mmol/L",
            "Fasting glucose value >160 - 250 mg/dL; Fasting glucose value >8.9 - 13.9 mmol/L",
            ">250 - 500 mg/dL; >13.9 - 27.8 mmol/L; hospitalization indicated",
            ">500 mg/dL; >27.8 mmol/L; life-threatening consequences",
            "Death",
        ),
        # MedDRA 10020870, SOC Metabolism and nutrition disorders
        "Hypertriglyceridemia": (
            "150 mg/dL - 300 mg/dL; 1.71 mmol/L - 3.42 mmol/L",
            ">300 mg/dL - 500 mg/dL; >3.42 mmol/L - 5.7 mmol/L",
            ">500 mg/dL - 1000 mg/dL; >5.7 mmol/L - 11.4 mmol/L",
            ">1000 mg/dL; >11.4 mmol/L; life-threatening consequences",
            "Death",
        ),
        # MedDRA 10008661, SOC Investigations
        "Cholesterol high": (
            ">ULN - 300 mg/dL; >ULN - 7.75 mmol/L",
            ">300 - 400 mg/dL; >7.75 - 10.34 mmol/L",
            ">400 - 500 mg/dL; >10.34 - 12.92 mmol/L",
            ">500 mg/dL; >12.92 mmol/L",
            "-",
        ),
        # MedDRA 10037032, SOC Renal and urinary disorders
        "Proteinuria": (
            "1+ proteinuria; urinary protein <1.0 g/24 hrs",
            (
                "Adults: 2+ proteinuria; urinary protein 1.0 - 3.4 g/24 hrs; Pediatric: urine P/C"
                " (Protein/Creatinine) ratio 0.5 - 1.9"
            ),
            "Adults: urinary protein >=3.5 g/24 hrs; Pediatric: urine P/C >1.9",
            "-",
            "-",
        ),
        # MedDRA 10021114, SOC Endocrine disorders
        "Hypothyroidism": (
            ("Asymptomatic; clinical or diagnostic observations only; intervention not indicated"),
            "Symptomatic; thyroid replacement indicated; limiting instrumental ADL",
            "Severe symptoms; limiting self care ADL; hospitalization indicated",
            "Life-threatening consequences; urgent intervention indicated",
            "Death",
        ),
        # MedDRA 10020850, SOC Endocrine disorders
        "Hyperthyroidism": (
            ("Asymptomatic; clinical or diagnostic observations only; intervention not indicated"),
            "Symptomatic; thyroid suppression therapy indicated; limiting instrumental ADL",
            "Severe symptoms; limiting self care ADL; hospitalization indicated",
            "Life-threatening consequences; urgent intervention indicated",
            "Death",
        ),
        # MedDRA 10014383, SOC Investigations
        "Electrocardiogram QT corrected interval prolonged": (
            "QTc 450 - 480 ms",
            "QTc 481 - 500 ms",
            "QTc >= 501 ms on at least two separate ECGs",
            (
                "QTc >= 501 or >60 ms change from baseline and Torsade de pointes or polymorphic "
                "ventricular tachycardia or signs/symptoms of serious arrhythmia"
            ),
            "-",
        ),
        # MedDRA 10020772, SOC Vascular disorders
        "Hypertension": (
            "Prehypertension (systolic BP 120 - 139 mm Hg or diastolic BP 80 - 89 mm Hg)",
            (
                "Stage 1 hypertension (systolic BP 140 - 159 mm Hg or diastolic BP 90 - 99 mm "
                "Hg); medical intervention indicated; recurrent or persistent (>=24 hrs); "
                "symptomatic increase by >20 mm Hg (diastolic) or to >140/90 mm Hg if previously "
                "WNL; monotherapy indicated Pediatric: recurrent or persistent (>=24 hrs) BP "
                ">ULN; monotherapy indicated"
            ),
            (
                "Stage 2 hypertension (systolic BP >=160 mm Hg or diastolic BP >=100 mm Hg); "
                "medical intervention indicated; more than one drug or more intensive therapy "
                "than previously used indicated Pediatric: Same as adult"
            ),
            (
                "Life-threatening consequences (e.g., malignant hypertension, transient or "
                "permanent neurologic deficit, hypertensive crisis); urgent intervention "
                "indicated Pediatric: Same as adult"
            ),
            "Death",
        ),
        # MedDRA 10016558, SOC General disorders and administration site conditions
        "Fever": (
            "38.0 - 39.0 degrees C (100.4 - 102.2 degrees F)",
            ">39.0 - 40.0 degrees C (102.3 - 104.0 degrees F)",
            ">40.0 degrees C (>104.0 degrees F) for <=24 hrs",
            ">40.0 degrees C (>104.0 degrees F) for >24 hrs",
            "Death",
        ),
        # MedDRA 10047900, SOC Investigations
        "Weight loss": (
            "5 to <10% from baseline; intervention not indicated",
            "10 - <20% from baseline; nutritional support indicated",
            ">=20% from baseline; tube feeding or TPN indicated",
            "-",
            "-",
        ),
        # MedDRA 10047896, SOC Investigations
        "Weight gain": (
            "5 - <10% from baseline",
            "10 - <20% from baseline",
            ">=20% from baseline",
            "-",
            "-",
        ),
    }
)

_ANEMIA = "Anemia"
_HB_INCREASED = "Hemoglobin increased"
_WBC = "White blood cell decreased"
_ANC = "Neutrophil count decreased"
_PLT = "Platelet count decreased"
_ALT = "Alanine aminotransferase increased"
_AST = "Aspartate aminotransferase increased"
_BILIRUBIN = "Blood bilirubin increased"
_CREATININE = "Creatinine increased"
_HYPOALBUMINEMIA = "Hypoalbuminemia"
_HYPOGLYCEMIA = "Hypoglycemia"
_HYPERGLYCEMIA = "Hyperglycemia"
_HYPERTRIGLYCERIDEMIA = "Hypertriglyceridemia"
_CHOLESTEROL = "Cholesterol high"
_PROTEINURIA = "Proteinuria"
_HYPOTHYROIDISM = "Hypothyroidism"
_HYPERTHYROIDISM = "Hyperthyroidism"
_QTC = "Electrocardiogram QT corrected interval prolonged"
_HYPERTENSION = "Hypertension"
_FEVER = "Fever"
_WEIGHT_LOSS = "Weight loss"
_WEIGHT_GAIN = "Weight gain"


class GradingError(ValueError):
    """A value, unit or reference range that cannot be graded, tied to the input at fault.

    ``field`` is one of "value", "unit", "lln", "uln", "baseline", "systolic", "diastolic",
    "temperature", "baseline_weight", "weight", or
    "analyte" for an analyte key this module does not know (a programming error).
    """

    def __init__(self, field: str, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Analyte:
    """A gradable measurement: offered units (the first canonical) and the range it needs."""

    key: str
    label: str
    units: tuple[str, ...]
    needs_lln: bool
    needs_uln: bool
    terms: tuple[str, ...]


@dataclass(frozen=True)
class GradeResult:
    """The CTCAE term and grade a value supports, with that grade's dictionary wording."""

    analyte: str
    term: str
    grade: int | None
    definition: str
    note: str = ""
    limits_used: tuple[str, ...] = ()  # "lln" / "uln" the grade depended on; () = neither


def _panel(*analytes: Analyte) -> Mapping[str, Analyte]:
    return MappingProxyType({analyte.key: analyte for analyte in analytes})


_COUNTS = ("10^9/L", "/mm3")
_NONE = {"needs_lln": False, "needs_uln": False}
_LLN = {"needs_lln": True, "needs_uln": False}
_ULN = {"needs_lln": False, "needs_uln": True}
_BOTH = {"needs_lln": True, "needs_uln": True}

ANALYTES: Mapping[str, Analyte] = _panel(  # panel order
    Analyte("hb", "Hemoglobin", ("g/L", "g/dL", "mmol/L"), **_BOTH, terms=(_ANEMIA, _HB_INCREASED)),
    Analyte("wbc", "WBC", _COUNTS, **_LLN, terms=(_WBC,)),
    Analyte("anc", "ANC", _COUNTS, **_LLN, terms=(_ANC,)),
    Analyte("plt", "Platelets", _COUNTS, **_LLN, terms=(_PLT,)),
    Analyte("alt", "ALT", ("U/L",), **_ULN, terms=(_ALT,)),
    Analyte("ast", "AST", ("U/L",), **_ULN, terms=(_AST,)),
    Analyte("bilirubin", "Total bilirubin", ("umol/L", "mg/dL"), **_ULN, terms=(_BILIRUBIN,)),
    Analyte("creatinine", "Creatinine", ("umol/L", "mg/dL"), **_ULN, terms=(_CREATININE,)),
    Analyte("albumin", "Albumin", ("g/L", "g/dL"), **_LLN, terms=(_HYPOALBUMINEMIA,)),
    Analyte(
        "glucose", "Glucose", ("mmol/L", "mg/dL"), **_BOTH, terms=(_HYPOGLYCEMIA, _HYPERGLYCEMIA)
    ),
    Analyte(
        "triglycerides",
        "Triglycerides",
        ("mmol/L", "mg/dL"),
        **_NONE,
        terms=(_HYPERTRIGLYCERIDEMIA,),
    ),
    Analyte("cholesterol", "Cholesterol", ("mmol/L", "mg/dL"), **_ULN, terms=(_CHOLESTEROL,)),
    Analyte(
        "urine_protein_dipstick",
        "Urine protein (dipstick)",
        ("dipstick",),
        **_NONE,
        terms=(_PROTEINURIA,),
    ),
    Analyte(
        "urine_protein_24h",
        "Urine protein (24 h)",
        ("g/24 h", "mg/24 h"),
        **_ULN,
        terms=(_PROTEINURIA,),
    ),
    Analyte("tsh", "TSH", ("mIU/L",), **_NONE, terms=(_HYPOTHYROIDISM, _HYPERTHYROIDISM)),
    Analyte(
        "ft4", "Free T4", ("pmol/L", "ng/dL"), **_NONE, terms=(_HYPOTHYROIDISM, _HYPERTHYROIDISM)
    ),
    Analyte("qtc", "QTc", ("ms",), **_NONE, terms=(_QTC,)),
)

#: The reference limits each term's grade wording uses, read off the grade cells of CTCAE v4.03
#: (the CSV). Only these are asked for when a term is graded; and a limit is needed only when
#: the value's grade depends on it: where an absolute threshold decides (Hb 95 g/L is Anemia
#: grade 2 whatever the LLN), the limit is not needed. An analyte may use the union of its
#: terms' limits (``Analyte.needs_lln`` / ``needs_uln``); the dipstick uses none.
TERM_LIMITS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        _ANEMIA: ("lln",),  # "<LLN - 10.0 g/dL"; "<10.0 - 8.0 g/dL"; "<8.0 g/dL"
        _HB_INCREASED: ("uln",),  # "Increase in >0 - 2 gm/dL above ULN or above baseline ..."
        _WBC: ("lln",),  # "<LLN - 3000/mm3"
        _ANC: ("lln",),  # "<LLN - 1500/mm3"
        _PLT: ("lln",),  # "<LLN - 75,000/mm3"
        _ALT: ("uln",),  # ">ULN - 3.0 x ULN"
        _AST: ("uln",),  # ">ULN - 3.0 x ULN"
        _BILIRUBIN: ("uln",),  # ">ULN - 1.5 x ULN"
        _CREATININE: ("uln",),  # ">ULN - 1.5 x ULN" (and x baseline)
        _HYPOALBUMINEMIA: ("lln",),  # "<LLN - 3 g/dL"
        _HYPOGLYCEMIA: ("lln",),  # "<LLN - 55 mg/dL"
        _HYPERGLYCEMIA: ("uln",),  # "Fasting glucose value >ULN - 160 mg/dL"
        _HYPERTRIGLYCERIDEMIA: (),  # "150 mg/dL - 300 mg/dL"
        _CHOLESTEROL: ("uln",),  # ">ULN - 300 mg/dL"
        _PROTEINURIA: ("uln",),  # 24 h: grade 1 "<1.0 g/24 hrs" read as ">ULN - <1.0"
        _HYPOTHYROIDISM: (),
        _HYPERTHYROIDISM: (),
        _QTC: (),  # "QTc 450 - 480 ms"
        _HYPERTENSION: (),  # adults: "Systolic BP 120 - 139 mm Hg ..." (pediatric: ">ULN")
        _FEVER: (),  # "38.0 - 39.0 degrees C"
        _WEIGHT_LOSS: (),  # "5 to <10% from baseline" (the subject's own baseline weight)
        _WEIGHT_GAIN: (),  # "5 - <10% from baseline"
    }
)

_D = Decimal

# --- Thresholds, per unit, as the dictionary writes them --------------------------------------
# Decreasing terms: the lower ends of grades 1, 2, ... ("<LLN - A"; "<A - B"; "<B - C"; "<C").
_BELOW: Mapping[str, Mapping[str, tuple[Decimal, ...]]] = {
    _ANEMIA: {
        "g/dL": (_D("10.0"), _D("8.0")),
        "mmol/L": (_D("6.2"), _D("4.9")),
        "g/L": (_D(100), _D(80)),
    },
    _WBC: {"/mm3": (_D(3000), _D(2000), _D(1000)), "10^9/L": (_D("3.0"), _D("2.0"), _D("1.0"))},
    _ANC: {"/mm3": (_D(1500), _D(1000), _D(500)), "10^9/L": (_D("1.5"), _D("1.0"), _D("0.5"))},
    _PLT: {
        "/mm3": (_D(75000), _D(50000), _D(25000)),
        "10^9/L": (_D("75.0"), _D("50.0"), _D("25.0")),
    },
    _HYPOALBUMINEMIA: {"g/dL": (_D(3), _D(2)), "g/L": (_D(30), _D(20))},
    _HYPOGLYCEMIA: {"mg/dL": (_D(55), _D(40), _D(30)), "mmol/L": (_D("3.0"), _D("2.2"), _D("1.7"))},
}
# Increasing terms with absolute values: the upper ends of grades 1, 2, 3 (">ULN - A"; ">A - B").
_ABOVE: Mapping[str, Mapping[str, tuple[Decimal, ...]]] = {
    _HYPERGLYCEMIA: {
        "mg/dL": (_D(160), _D(250), _D(500)),
        "mmol/L": (_D("8.9"), _D("13.9"), _D("27.8")),
    },
    _CHOLESTEROL: {
        "mg/dL": (_D(300), _D(400), _D(500)),
        "mmol/L": (_D("7.75"), _D("10.34"), _D("12.92")),
    },
}
# Multiples of the ULN ending grades 1, 2, 3 (">ULN - A x ULN"; ">A - B x ULN"; ...; ">C x ULN").
_X_ULN: Mapping[str, tuple[Decimal, ...]] = {
    _ALT: (_D("3.0"), _D("5.0"), _D("20.0")),
    _AST: (_D("3.0"), _D("5.0"), _D("20.0")),
    _BILIRUBIN: (_D("1.5"), _D("3.0"), _D("10.0")),
    _CREATININE: (_D("1.5"), _D("3.0"), _D("6.0")),
}
# Creatinine increased by baseline: ">1 - 1.5 x baseline"; ">1.5 - 3.0 x baseline"; ">3.0 baseline".
_CREATININE_X_BASELINE = (_D("1.5"), _D("3.0"))
# Hypertriglyceridemia: grade 1 starts at (inclusive), then upper ends of grades 1, 2, 3.
_TRIGLYCERIDES: Mapping[str, tuple[Decimal, tuple[Decimal, ...]]] = {
    "mg/dL": (_D(150), (_D(300), _D(500), _D(1000))),
    "mmol/L": (_D("1.71"), (_D("3.42"), _D("5.7"), _D("11.4"))),
}
# Hemoglobin increased: width of one grade step, "2 gm/dL" (= 20 g/L).
_HB_STEP = {"g/dL": _D(2), "g/L": _D(20)}
# Proteinuria 24 h: starts of grade 2 ("1.0 - 3.4 g/24 hrs") and grade 3 (">=3.5 g/24 hrs").
_PROTEIN_24H = {"g/24 h": (_D("1.0"), _D("3.5")), "mg/24 h": (_D(1000), _D(3500))}
_DIPSTICK = {"negative": 0, "trace": 0, "1+": 1, "2+": 2, "3+": 2, "4+": 2}
# Inclusive starts of grades 1, 2, 3.
_QTC_STARTS = (_D(450), _D(481), _D(501))
QTC_GRADE_3_MS = _QTC_STARTS[2]  # ">= 501 ms on at least two separate ECGs" (grade 3)
_SYSTOLIC_STARTS = (_D(120), _D(140), _D(160))
_DIASTOLIC_STARTS = (_D(80), _D(90), _D(100))
# Fever, degrees C: grade 1 starts at 38.0 (inclusive); upper ends of grades 1 and 2.
_FEVER_START = _D("38.0")
_FEVER_ENDS = (_D("39.0"), _D("40.0"))
# Weight loss / gain: inclusive starts of grades 1, 2, 3, in percent of the baseline weight.
_WEIGHT_CHANGE_STARTS = (_D(5), _D(10), _D(20))
_PERCENT = _D(100)

_FIELD_NAMES = {
    "value": "the value",
    "lln": "the LLN",
    "uln": "the ULN",
    "baseline": "the baseline",
    "systolic": "the systolic pressure",
    "diastolic": "the diastolic pressure",
    "temperature": "the temperature",
    "baseline_weight": "the baseline weight",
    "weight": "the weight",
}


# --- Input ------------------------------------------------------------------------------------
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)  # as typed from a report
_TOO_LARGE = Decimal("1e9")  # no value, limit or pressure graded here comes near it


def _number(field: str, raw: object, *, required: bool) -> Decimal | None:
    """Decimal from Decimal, int or str; None when blank and not required."""
    name = _FIELD_NAMES[field]
    label = name[0].upper() + name[1:]  # "The ULN", not str.capitalize()'s "The uln"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise GradingError(field, f"Enter {name}.", "required")
        return None
    if isinstance(raw, bool) or not isinstance(raw, Decimal | int | str):
        raise GradingError(
            field,
            f"{label} must be a decimal number, not a {type(raw).__name__}.",
            "not_a_number",
        )
    if isinstance(raw, str) and not _PLAIN_NUMBER.fullmatch(raw.strip()):
        # Decimal() also reads "1e999", "Infinity" and Arabic-Indic digits: none is a reading
        if any(ch.isdigit() and not ch.isascii() for ch in raw):
            raise GradingError(
                field, f"{label} must be written with the digits 0-9.", "not_ascii_digits"
            )
        raise GradingError(field, f"{label} must be a number.", "not_a_number")
    try:
        number = Decimal(raw.strip()) if isinstance(raw, str) else Decimal(raw)
    except InvalidOperation:
        raise GradingError(field, f"{label} must be a number.", "not_a_number") from None
    if not number.is_finite():
        raise GradingError(field, f"{label} must be a number.", "not_a_number")
    if number < 0:
        raise GradingError(field, f"{label} cannot be negative.", "negative")
    if number >= _TOO_LARGE:
        raise GradingError(field, f"{label} is too large to be a reading.", "too_large")
    return number


def _units_hint(units: tuple[str, ...]) -> str:
    return units[0] if len(units) == 1 else f"{', '.join(units[:-1])} or {units[-1]}"


@dataclass(frozen=True)
class _Input:
    analyte: Analyte
    value: Decimal
    unit: str
    lln: Decimal | None
    uln: Decimal | None
    baseline: Decimal | None
    confirmed: bool
    terms: tuple[str, ...]  # the terms to grade: the analyte's, or the one asked for
    used: set[str] = field(default_factory=set)  # the limits the grade depended on

    def limit(self, name: str) -> Decimal:
        """The LLN or ULN the grade depends on; refused when it was not given."""
        value = self.lln if name == "lln" else self.uln
        if value is None:
            raise GradingError(
                name,
                f"The laboratory's {name.upper()} is needed to grade {self.analyte.label}.",
                "limit_needed",
            )
        self.used.add(name)
        return value


# --- Helpers ----------------------------------------------------------------------------------
def _result(key: str, term: str, grade: int | None, *notes: str) -> GradeResult:
    definition = WORDING[term][grade - 1] if term and grade else ""
    return GradeResult(key, term, grade, definition, " ".join(n for n in notes if n))


def _grade_below(inp: _Input, lower_ends: tuple[Decimal, ...]) -> int:
    """'<LLN - A; <A - B; ...; <Z': below A is grade 2 whatever the LLN (not asked for)."""
    beyond = sum(1 for end in lower_ends if inp.value < end)
    if beyond:
        return beyond + 1
    return 1 if inp.value < inp.limit("lln") else 0


def _grade_above(
    value: Decimal, reference: Callable[[], Decimal], upper_ends: tuple[Decimal, ...]
) -> int:
    """'>REF - A; >A - B; ...; >Z': above A is grade 2 whatever the reference (not asked for)."""
    beyond = sum(1 for end in upper_ends if value > end)
    if beyond:
        return beyond + 1
    return 1 if value > reference() else 0


def _grade_from(value: Decimal, starts: tuple[Decimal, ...]) -> int:
    """Inclusive starts of grades 1, 2, ...: a value short of a start keeps the lower grade."""
    return sum(1 for start in starts if value >= start)


def _plain(value: Decimal) -> str:
    """A stored limit by its significant digits: 40.000 -> "40", 1.200 -> "1.2"."""
    return format(value.normalize(), "f")


def _ratio(value: Decimal, reference: Decimal) -> str:
    with localcontext() as context:
        context.rounding = ROUND_CEILING
        return f"{value / reference:.2f}"


def _beyond_range_note(grade: int, value: Decimal, limit: Decimal | None, below: bool) -> str:
    if limit is None:
        return ""
    if grade < 2 or (value < limit if below else value > limit):
        return ""
    side = "below the LLN" if below else "above the ULN"
    return (
        "Graded by the CTCAE absolute threshold although the value is not "
        f"{side} ({_plain(limit)})."
    )


_GRADE_4_CLINICAL = (
    "Grade 4 (life-threatening consequences; urgent intervention indicated) is a clinical "
    "judgement and is not derived from the value."
)


# --- Graders, one per kind of wording ---------------------------------------------------------
def _decreased(term: str, inp: _Input) -> GradeResult:
    ends = _BELOW[term][inp.unit]
    grade = _grade_below(inp, ends)
    # Anemia and Hypoalbuminemia: two value thresholds, grade 3 the last; their grade 4 is clinical.
    clinical = _GRADE_4_CLINICAL if grade == len(ends) + 1 == 3 else ""
    beyond = _beyond_range_note(grade, inp.value, inp.lln, below=True)
    return _result(inp.analyte.key, term, grade, beyond, clinical)


def _grade_hb(inp: _Input) -> GradeResult:
    if _HB_INCREASED not in inp.terms:
        return _decreased(_ANEMIA, inp)
    if _ANEMIA in inp.terms:
        anemia = _decreased(_ANEMIA, inp)
        if anemia.grade:
            return anemia
    uln = inp.limit("uln")
    if inp.value <= uln:
        return _result("hb", _HB_INCREASED if _ANEMIA not in inp.terms else "", 0)
    above_baseline = inp.baseline is not None and inp.baseline > uln
    reference = inp.baseline if above_baseline else uln
    named = f"baseline ({_plain(reference)})" if above_baseline else f"ULN ({_plain(reference)})"
    if inp.value <= reference:
        return _result("hb", _HB_INCREASED, 0, f"Above the ULN but not above the {named}.")
    if inp.unit not in _HB_STEP:
        return _result(
            "hb",
            _HB_INCREASED,
            None,
            f"CTCAE v4.03 states Hemoglobin increased in gm/dL only; a {inp.unit} value is not "
            "converted, so grade it from a g/dL or g/L value.",
        )
    step = _HB_STEP[inp.unit]
    grade = _grade_above(inp.value, lambda: reference, (reference + step, reference + 2 * step))
    return _result(
        "hb",
        _HB_INCREASED,
        grade,
        f"Increase of {_plain(inp.value - reference)} {inp.unit} above the {named}.",
    )


def _grade_count(term: str) -> Callable[[_Input], GradeResult]:
    return lambda inp: _decreased(term, inp)


def _by_uln(term: str, inp: _Input) -> int:
    uln = inp.limit("uln")
    return _grade_above(inp.value, lambda: uln, tuple(m * uln for m in _X_ULN[term]))


def _grade_x_uln(term: str) -> Callable[[_Input], GradeResult]:
    def grade_it(inp: _Input) -> GradeResult:
        grade = _by_uln(term, inp)
        note = f"{_ratio(inp.value, inp.uln)} x ULN ({_plain(inp.uln)} {inp.unit})."
        return _result(inp.analyte.key, term, grade, note)

    return grade_it


def _grade_creatinine(inp: _Input) -> GradeResult:
    by_uln = _by_uln(_CREATININE, inp)
    ratios = f"{_ratio(inp.value, inp.uln)} x ULN ({_plain(inp.uln)} {inp.unit})"
    if inp.baseline is None:
        return _result("creatinine", _CREATININE, by_uln, f"{ratios}.")
    if inp.baseline == 0:
        raise GradingError("baseline", "The baseline must be greater than zero.", "not_positive")
    ends = tuple(m * inp.baseline for m in _CREATININE_X_BASELINE)
    by_baseline = _grade_above(inp.value, lambda: inp.baseline, ends)
    ratios += f"; {_ratio(inp.value, inp.baseline)} x baseline ({_plain(inp.baseline)} {inp.unit})."
    if by_baseline > by_uln:
        decided = "Grade set by the baseline criterion (CTCAE: the higher of the two)."
        return _result("creatinine", _CREATININE, by_baseline, ratios, decided)
    return _result("creatinine", _CREATININE, by_uln, ratios)


def _grade_glucose(inp: _Input) -> GradeResult:
    if _HYPERGLYCEMIA not in inp.terms:
        return _decreased(_HYPOGLYCEMIA, inp)
    if _HYPOGLYCEMIA in inp.terms:
        low = _decreased(_HYPOGLYCEMIA, inp)
        if low.grade:
            return low
    grade = _grade_above(inp.value, lambda: inp.limit("uln"), _ABOVE[_HYPERGLYCEMIA][inp.unit])
    if not grade:
        return _result("glucose", _HYPERGLYCEMIA if _HYPOGLYCEMIA not in inp.terms else "", 0)
    fasting = (
        "Grades 1-2 are worded for a fasting glucose value; the value was graded as fasting."
        if grade <= 2
        else ""
    )
    beyond = _beyond_range_note(grade, inp.value, inp.uln, below=False)
    return _result("glucose", _HYPERGLYCEMIA, grade, beyond, fasting)


def _grade_cholesterol(inp: _Input) -> GradeResult:
    grade = _grade_above(inp.value, lambda: inp.limit("uln"), _ABOVE[_CHOLESTEROL][inp.unit])
    beyond = _beyond_range_note(grade, inp.value, inp.uln, below=False)
    return _result("cholesterol", _CHOLESTEROL, grade, beyond)


def _grade_triglycerides(inp: _Input) -> GradeResult:
    start, ends = _TRIGLYCERIDES[inp.unit]
    grade = 0 if inp.value < start else 1 + sum(1 for end in ends if inp.value > end)
    return _result("triglycerides", _HYPERTRIGLYCERIDEMIA, grade)


def _grade_protein_24h(inp: _Input) -> GradeResult:
    grade_2, grade_3 = _PROTEIN_24H[inp.unit]
    grade = _grade_from(inp.value, (grade_2, grade_3)) + 1
    if grade == 1 and inp.value <= inp.limit("uln"):  # the ULN decides grade 1 only
        grade = 0
    return _result("urine_protein_24h", _PROTEINURIA, grade)


def _grade_thyroid(inp: _Input) -> GradeResult:
    return _result(
        inp.analyte.key,
        "",
        None,
        "Hypothyroidism and hyperthyroidism are graded by clinical judgement in CTCAE v4.03 "
        f"(symptoms, treatment indicated); no grade is derived from the {inp.analyte.label} value.",
    )


def _grade_qtc(inp: _Input) -> GradeResult:
    grade = _grade_from(inp.value, _QTC_STARTS)
    if grade < 3:
        return _result("qtc", _QTC, grade)
    clinical = (
        "Grade 4 (with Torsade de pointes, polymorphic ventricular tachycardia or signs/symptoms "
        "of serious arrhythmia) is a clinical judgement."
    )
    if inp.confirmed:
        return _result(
            "qtc", _QTC, 3, "Confirmed: QTc >= 501 ms on a second separate ECG.", clinical
        )
    return _result(
        "qtc",
        _QTC,
        2,
        "QTc >= 501 ms on this ECG; grade 3 needs >= 501 ms on at least two separate ECGs, so a "
        "second ECG >= 501 ms is needed (pass confirmed=True).",
        clinical,
    )


_GRADERS: Mapping[str, Callable[[_Input], GradeResult]] = {
    "hb": _grade_hb,
    "wbc": _grade_count(_WBC),
    "anc": _grade_count(_ANC),
    "plt": _grade_count(_PLT),
    "alt": _grade_x_uln(_ALT),
    "ast": _grade_x_uln(_AST),
    "bilirubin": _grade_x_uln(_BILIRUBIN),
    "creatinine": _grade_creatinine,
    "albumin": _grade_count(_HYPOALBUMINEMIA),
    "glucose": _grade_glucose,
    "triglycerides": _grade_triglycerides,
    "cholesterol": _grade_cholesterol,
    "urine_protein_24h": _grade_protein_24h,
    "tsh": _grade_thyroid,
    "ft4": _grade_thyroid,
    "qtc": _grade_qtc,
}


def _grade_dipstick(reading: object) -> GradeResult:
    key = reading.strip().lower() if isinstance(reading, str) else None
    if key not in _DIPSTICK:
        raise GradingError(
            "value",
            "Enter a dipstick reading: negative, trace, 1+, 2+, 3+ or 4+.",
            "bad_reading",
        )
    grade = _DIPSTICK[key]
    if key == "trace":
        note = "Trace is not a CTCAE v4.03 proteinuria reading (grade 1 is 1+)."
    elif key in ("3+", "4+"):
        note = (
            f"CTCAE v4.03 names no dipstick reading above 2+; {key} is graded 2, the highest grade "
            "a dipstick can give: grade 3 needs a 24-hour urine protein >= 3.5 g."
        )
    else:
        note = ""
    return _result("urine_protein_dipstick", _PROTEINURIA, grade, note)


# --- Public -----------------------------------------------------------------------------------
def grade(
    analyte: str,
    value: object,
    unit: str,
    *,
    lln: object = None,
    uln: object = None,
    baseline: object = None,
    confirmed: bool = False,
    term: str = "",
) -> GradeResult:
    """Grade one value of ``analyte`` in ``unit`` (lln/uln/baseline in the same unit), as
    ``term`` only when given (one of the analyte's terms).

    A missing LLN or ULN is refused only when the grade depends on it (:data:`TERM_LIMITS`);
    ``GradeResult.limits_used`` names the limits it did depend on."""
    spec = ANALYTES.get(analyte)
    if spec is None:
        raise GradingError("analyte", f"{analyte!r} is not a gradable analyte.", "unknown_analyte")
    if term and term not in spec.terms:
        raise GradingError(
            "term",
            f"{term} is not graded from {spec.label}; use {_units_hint(spec.terms)}.",
            "term_not_graded_from_analyte",
        )
    if unit not in spec.units:
        raise GradingError(
            "unit",
            f"{unit} is not a unit for {spec.label}; use {_units_hint(spec.units)}.",
            "unit_not_allowed",
        )
    number = (
        None if spec.key == "urine_protein_dipstick" else _number("value", value, required=True)
    )
    low = _number("lln", lln, required=False)
    high = _number("uln", uln, required=False)
    base = _number("baseline", baseline, required=False)
    if high is not None and high == 0:
        raise GradingError("uln", "The ULN must be greater than zero.", "not_positive")
    if low is not None and high is not None and low >= high:
        raise GradingError("uln", "The ULN must be greater than the LLN.", "uln_not_above_lln")
    if number is None:
        return _grade_dipstick(value)
    inp = _Input(spec, number, unit, low, high, base, confirmed, (term,) if term else spec.terms)
    result = _GRADERS[spec.key](inp)
    return replace(result, limits_used=tuple(sorted(inp.used)))


def grade_blood_pressure(systolic: object, diastolic: object) -> GradeResult:
    """Grade one blood-pressure reading (mm Hg) as CTCAE v4.03 Hypertension, adult wording."""
    sbp = _number("systolic", systolic, required=True)
    dbp = _number("diastolic", diastolic, required=True)
    if sbp <= dbp:
        raise GradingError(
            "diastolic",
            "The diastolic pressure must be lower than the systolic.",
            "diastolic_not_below_systolic",
        )
    grade = max(_grade_from(sbp, _SYSTOLIC_STARTS), _grade_from(dbp, _DIASTOLIC_STARTS))
    if not grade:
        return _result("blood_pressure", _HYPERTENSION, 0)
    note = (
        f"Graded from the reading {sbp}/{dbp} mm Hg by the blood-pressure ranges only; the "
        "clinical criteria (medical intervention or drugs indicated, recurrent or persistent "
        ">=24 hrs, symptomatic increase) can make the grade higher and are for the investigator."
    )
    if grade == 3:
        note += " Grade 4 (life-threatening consequences) is a clinical judgement."
    return _result("blood_pressure", _HYPERTENSION, grade, note)


def grade_fever(temperature_c: object) -> GradeResult:
    """Grade one body temperature (degrees C) as CTCAE v4.03 Fever.

    "38.0 - 39.0 degrees C" grade 1; ">39.0 - 40.0" grade 2; ">40.0 ... for <=24 hrs" grade 3;
    ">40.0 ... for >24 hrs" grade 4. One reading cannot show a duration: >40.0 is grade 3 and the
    note says that lasting more than 24 hours makes it grade 4."""
    temperature = _number("temperature", temperature_c, required=True)
    if temperature < _FEVER_START:
        return _result("temperature", _FEVER, 0)
    grade = 1 + sum(1 for end in _FEVER_ENDS if temperature > end)
    if grade < 3:
        return _result("temperature", _FEVER, grade)
    return _result(
        "temperature",
        _FEVER,
        3,
        f"Graded from one reading of {temperature} degrees C; above 40.0 degrees C for more than "
        "24 hrs is grade 4 (the duration is for the investigator).",
    )


def _cut_percent(value: Decimal) -> str:
    """A percentage cut (not rounded) to 0.1: 4.99 -> "4.9", never showing an unreached 5.0."""
    with localcontext() as context:
        context.rounding = ROUND_DOWN
        return f"{value:.1f}"


def grade_weight_change(baseline_kg: object, current_kg: object) -> GradeResult:
    """Grade a weight against the subject's baseline weight (kg) as CTCAE v4.03 Weight loss or
    Weight gain, the term chosen by the direction of the change.

    Loss: "5 to <10% from baseline" 1; "10 - <20%" 2; ">=20%" 3. Gain: "5 - <10%" 1;
    "10 - <20%" 2; ">=20%" 3. Compared exactly: a change of c kg is at least p % of the baseline
    b when 100 x c >= p x b (100 kg -> 95.0 kg is exactly 5 %, grade 1)."""
    baseline = _number("baseline_weight", baseline_kg, required=True)
    weight = _number("weight", current_kg, required=True)
    if baseline == 0:
        raise GradingError(
            "baseline_weight", "The baseline weight must be greater than zero.", "not_positive"
        )
    if weight == 0:
        raise GradingError("weight", "The weight must be greater than zero.", "not_positive")
    change = abs(weight - baseline)
    grade = sum(1 for start in _WEIGHT_CHANGE_STARTS if _PERCENT * change >= start * baseline)
    if not grade:
        return _result("weight", "", 0)
    term = _WEIGHT_LOSS if weight < baseline else _WEIGHT_GAIN
    direction = "below" if weight < baseline else "above"
    note = (
        f"{_plain(weight)} kg is {_cut_percent(_PERCENT * change / baseline)} % {direction} the "
        f"baseline weight ({_plain(baseline)} kg)."
    )
    clinical = (
        "Graded from the change in weight only; the nutritional criteria of the wording are for "
        "the investigator."
        if term == _WEIGHT_LOSS
        else ""
    )
    return _result("weight", term, grade, note, clinical)
