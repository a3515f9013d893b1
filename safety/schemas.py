"""Request and response schemas of the safety API (``safety.api``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Field, Schema

from alter_s006 import protocol as P
from alter_s006.api_types import (
    Bool,
    Date,
    DateTime,
    Id,
    In,
    Int,
    Number,
    NumberOrReading,
    Text,
)
from safety import grading
from safety.models import AdverseEvent

_ANALYTES = [*grading.ANALYTES, "blood_pressure"]


class GradeDefinitionOut(Schema):
    grade: int
    definition: str


class TermOut(Schema):
    id: int
    meddra_code: int
    soc: str = Field(..., description="System organ class")
    term: str
    definition: str
    other_specify: bool = Field(..., description="The verbatim term is required")
    allowed_grades: list[int] = Field(..., description="Grades the term has (not '-')")
    grades: list[GradeDefinitionOut] = Field(..., description="Wording of each allowed grade")


class TermBriefOut(Schema):
    id: int
    meddra_code: int
    soc: str
    term: str
    other_specify: bool


class AeIn(In):
    term_id: Id = Field(..., description="A CTCAE term (GET /ctcae/terms)")
    verbatim: Text = Field("", description="Required with an 'Other, specify' term")
    onset_date: Date
    end_date: Date | None = Field(None, description="Null while ongoing")
    ongoing: Bool = False
    grade: Int = Field(..., description="A grade the term has (1-5)")
    serious: Bool = False
    sae_death: Bool = False
    sae_life_threatening: Bool = False
    sae_hospitalisation: Bool = False
    sae_disability: Bool = False
    sae_congenital_anomaly: Bool = False
    sae_important_medical_event: Bool = False
    action_taken: Text = Field(
        AdverseEvent.Action.NONE, json_schema_extra={"enum": list(AdverseEvent.Action.values)}
    )
    dose_event_id: Id | None = Field(
        None, description="The dose modification (interruption, reduction, discontinuation)"
    )
    treatment_given: Text = ""
    outcome: Text = Field(..., json_schema_extra={"enum": list(AdverseEvent.Outcome.values)})
    learned_on: DateTime | None = Field(
        None, description="When the site learned of it (default now): starts the SAE clock"
    )
    lab_result_id: Id | None = Field(None, description="The lab value it is recorded from")


class AePatch(In):
    version: Int = Field(..., description="The version you read")
    reason: Text = Field(..., description="Reason for change (audit trail)")
    grade_from: Date | None = Field(
        None, description="Required with a new grade: the date the grade changed"
    )
    sae_aware_at: DateTime | None = Field(
        None, description="When the event becomes serious: when the site learned it (now)"
    )
    term_id: Id | None = None
    verbatim: Text | None = None
    onset_date: Date | None = None
    end_date: Date | None = None
    ongoing: Bool | None = None
    grade: Int | None = None
    serious: Bool | None = None
    sae_death: Bool | None = None
    sae_life_threatening: Bool | None = None
    sae_hospitalisation: Bool | None = None
    sae_disability: Bool | None = None
    sae_congenital_anomaly: Bool | None = None
    sae_important_medical_event: Bool | None = None
    action_taken: Text | None = Field(
        None, json_schema_extra={"enum": [*AdverseEvent.Action.values, None]}
    )
    dose_event_id: Id | None = None
    treatment_given: Text | None = None
    outcome: Text | None = Field(
        None, json_schema_extra={"enum": [*AdverseEvent.Outcome.values, None]}
    )
    learned_on: DateTime | None = None


class CausalityIn(In):
    version: Int = Field(..., description="The version of the AE you assessed")
    relationship: Text = Field(
        ..., json_schema_extra={"enum": list(AdverseEvent.Relationship.values)}
    )
    password: Text = Field(..., description="Your own password, re-entered to sign")


class GradeStepOut(Schema):
    grade: int
    from_date: dt.date


class DaysAtGradeOut(Schema):
    grade: int
    days: int


class WindowOut(Schema):
    start: dt.date = Field(..., description="First dose")
    end: dt.date | None = Field(
        ...,
        description=f"Last dose + {P.AE_REPORTING_DAYS_AFTER_LAST_DOSE} days; null while dosing",
    )


class CausalityOut(Schema):
    relationship: str
    signed_by: str
    printed_name: str
    signed_at: dt.datetime
    meaning: str


class SaeSignatureOut(Schema):
    signed_by: str
    printed_name: str
    meaning: str
    signed_at: dt.datetime
    signed_at_site: str = Field(..., description="The site's local time, with its zone")
    content_hash: str


class SaeReportOut(Schema):
    id: int
    ae_id: int
    subject_id: int
    subject: str
    site: str
    term: str
    grade: int
    kind: str
    sequence: int
    label: str
    aware_at: dt.datetime
    due_at: dt.datetime
    overdue: bool
    submitted_at: dt.datetime | None
    submitted_by: str | None
    narrative: str
    data_hash: str | None = Field(
        ..., description="What an investigator signs to submit it (null once submitted)"
    )
    signature: SaeSignatureOut | None = Field(
        ..., description="The investigator's e-signature that submitted it"
    )
    version: int


class AeOut(Schema):
    id: int
    subject_id: int
    term: TermBriefOut
    verbatim: str
    onset_date: dt.date
    end_date: dt.date | None
    ongoing: bool
    grade: int = Field(..., description="Current grade")
    worst_grade: int
    days_at_grade: list[DaysAtGradeOut] = Field(
        ..., description="Days at each grade, to the end date (or today while ongoing)"
    )
    grade_history: list[GradeStepOut]
    serious: bool
    sae_death: bool
    sae_life_threatening: bool
    sae_hospitalisation: bool
    sae_disability: bool
    sae_congenital_anomaly: bool
    sae_important_medical_event: bool
    relationship: str = Field(..., description="Empty until an investigator signs causality")
    causality: CausalityOut | None
    action_taken: str
    dose_event_id: int | None
    treatment_given: str
    outcome: str
    learned_on: dt.datetime
    in_window: bool = Field(..., description="Onset within the AE reporting window")
    reporting_window: WindowOut | None = Field(..., description="Null before the first dose")
    sae_reports: list[SaeReportOut]
    recorded_by: str
    created_at: dt.datetime
    version: int


class SaeDraftIn(In):
    version: Int = Field(..., description="The version of the report you read")
    narrative: Text


class SaeSubmitIn(In):
    narrative: Text
    data_hash: Text = Field(
        ..., description="`data_hash` of the report as you read it: what you sign"
    )
    password: Text = Field(..., description="Your own password, re-entered to sign")


class FollowUpIn(In):
    due_at: DateTime | None = Field(
        None, description=f"Default: {P.SAE_FOLLOW_UP_HOURS} hours from now"
    )


class LabValueIn(In):
    value: NumberOrReading = Field(..., description="A number; a dipstick reading as text ('2+')")
    unit: Text = Field(..., description="One of the analyte's units (POST /grading lists them)")


class BloodPressureIn(In):
    systolic: Number
    diastolic: Number


class LabPanelIn(In):
    sample_date: Date
    visit_id: Id | None = Field(None, description="The cycle visit")
    values: dict[Text, LabValueIn] = Field(
        default_factory=dict,
        description="By analyte: " + ", ".join(grading.ANALYTES),
    )
    blood_pressure: BloodPressureIn | None = None
    qtc_confirmed: Bool = Field(
        False, description="A second separate ECG also showed QTc >= 501 ms"
    )


class LabPanelCorrectionIn(LabPanelIn):
    version: Int = Field(..., description="The version of the panel you read")
    reason: Text = Field(..., description="Reason for change (audit trail)")


class LabResultOut(Schema):
    id: int
    analyte: str
    label: str
    value: Decimal | None = Field(..., description="The systolic pressure for blood_pressure")
    diastolic: Decimal | None
    reading: str = Field(..., description="Urine dipstick reading")
    display_value: str
    unit: str
    lln: Decimal | None
    uln: Decimal | None
    grade: int | None = Field(..., description="CTCAE grade; null = clinical judgement")
    term: str
    definition: str
    note: str
    ae_id: int | None


class OfferedAeOut(Schema):
    result_id: int
    analyte: str
    term_id: int
    term: str
    grade: int
    onset_date: dt.date
    verbatim: str


class LabPanelOut(Schema):
    id: int
    subject_id: int
    visit_id: int | None
    visit: str | None
    sample_date: dt.date
    results: list[LabResultOut]
    offered_aes: list[OfferedAeOut] = Field(
        ..., description="Values of grade >= 2 without a matching AE, with the AE pre-filled"
    )
    recorded_by: str
    created_at: dt.datetime
    version: int


def _analytes_by_term() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"Hypertension": ["blood_pressure"]}
    for spec in grading.ANALYTES.values():
        for term in spec.terms:
            out.setdefault(term, []).append(spec.key)
    return out


ANALYTES_BY_TERM = _analytes_by_term()


class GradingIn(In):
    analyte: Text = Field(
        "", json_schema_extra={"enum": ["", *_ANALYTES]}, description="Or give `term`"
    )
    term: Text = Field(
        "",
        description="A CTCAE term graded from one analyte (e.g. 'Neutrophil count decreased', "
        "'Hypertension'), instead of `analyte`",
    )
    value: NumberOrReading | None = Field(None, description="Not for blood_pressure")
    unit: Text = ""
    lln: Number | None = None
    uln: Number | None = None
    baseline: Number | None = Field(None, description="Hb and creatinine only")
    confirmed: Bool = Field(False, description="QTc: a second ECG >= 501 ms")
    systolic: Number | None = Field(None, description="blood_pressure only")
    diastolic: Number | None = Field(None, description="blood_pressure only")


class GradeOut(Schema):
    analyte: str
    term: str
    grade: int | None = Field(..., description="0 normal; null = clinical judgement")
    definition: str = Field(..., description="The CTCAE wording of the grade that matched")
    note: str
    units: list[str] = Field(..., description="Units offered for the analyte")
    limits_used: list[str] = Field(
        ...,
        description="The reference limits the grade depended on ('lln', 'uln'); empty when an "
        "absolute CTCAE threshold decided it whatever the range",
    )
