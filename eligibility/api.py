"""Screening CRF, eligibility verdict, e-signature and screening log over the API.

The same access helper and services as the pages (``eligibility.views``):

* ``PUT .../screening`` passes the body's typed values to ``services.save_screening``, the
  page's one validation (plausibility, units, dates in the future, reason for change), with
  its error codes. The body is laid over the stored screening, as the page form is
  pre-filled with it: a field left out keeps its stored value, ``null`` clears it.
* ``GET .../screening`` before the first save answers 200 with every field empty and
  ``version: null`` (not 404: a 404 means the subject is unknown or not yours).
* The verdict is derived from the stored data each time (``eligibility.rules``); the
  signature binds it to the data, and a change to the data voids the signature.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.db import models
from django.http import HttpResponse
from django.utils import translation
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict, WithJsonSchema, create_model

from accounts.access import Action, require, visible_sites
from alter_s006.api_types import DECIMAL_PATTERN, Bool, Date, Int, Number, PathId, Query, Text
from alter_s006.pagination import (
    API_PAGE_DESCRIPTION,
    PAGE_SIZE,
    PageQuery,
    PageSizeQuery,
    api_page,
)
from alter_s006.web import subject_for
from eligibility import services
from eligibility.models import EligibilitySignature, Screening
from eligibility.units import UNITS
from eligibility.validation import LAB_FIELDS
from subjects.models import Subject

router = Router(tags=["eligibility"])

# --- schemas --------------------------------------------------------------------------------

_UNIT_FIELDS = {unit: UNITS[analyte] for _value, unit, analyte in LAB_FIELDS if unit}
_NULL = {"type": "null"}


_UNIT_OF = {unit: value for value, unit, _analyte in LAB_FIELDS if unit}


def _description(field: models.Field) -> str:
    with translation.override("en"):
        text = str(field.verbose_name)
        if field.name in _UNIT_OF:
            text = f"unit of the {Screening._meta.get_field(_UNIT_OF[field.name]).verbose_name}"
        if field.help_text:
            text += f". {field.help_text}"
    return text[:1].upper() + text[1:]


def _choices(field: models.Field) -> list:
    if field.name in _UNIT_FIELDS:
        return list(_UNIT_FIELDS[field.name])
    return [value for value, _label in field.flatchoices]


def _input_json_schema(field: models.Field) -> dict:
    """What the API documents for a field; the service does the checking."""
    if isinstance(field, models.BooleanField):
        shape = {"type": "boolean"}
    elif isinstance(field, models.DecimalField):
        shape = {"type": ["string", "number"], "pattern": DECIMAL_PATTERN, "examples": ["120"]}
    elif isinstance(field, models.DateField):
        shape = {"type": "string", "format": "date"}
    elif isinstance(field, models.IntegerField):
        shape = {"type": "integer"}
    else:
        shape = {"type": "string", "maxLength": field.max_length}
    if field.choices:
        shape["enum"] = _choices(field) + ([""] if shape["type"] == "string" else [])
    return {"anyOf": [shape, _NULL], "description": _description(field)}


def _input_type(field: models.Field) -> Any:
    """The strict API type of a field (issue 10): JSON types are not coerced."""
    if isinstance(field, models.BooleanField):
        return Bool
    if isinstance(field, models.DecimalField):
        return Number  # typed here; the service checks the value
    if isinstance(field, models.DateField):
        return Date
    if isinstance(field, models.IntegerField):
        return Int
    return Text


def _output_type(field: models.Field) -> Any:
    if isinstance(field, models.BooleanField):
        return bool | None
    if isinstance(field, models.DecimalField):
        return Decimal | None
    if isinstance(field, models.DateField):
        return dt.date | None
    if isinstance(field, models.IntegerField):
        return int | None
    return str


_FIELDS = [Screening._meta.get_field(name) for name in services.DATA_FIELDS]


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


ScreeningIn = create_model(
    "ScreeningIn",
    __base__=_Strict,
    __doc__=(
        "The screening CRF. On the first save no version or reason is needed; afterwards "
        "`version` (the one you read) and `reason` (for the audit trail) are required. "
        "Fields left out keep their stored value; `null` clears a field."
    ),
    version=(Int | None, Field(None, description="The version you read (updates only).")),
    reason=(Text | None, Field(None, description="Reason for change (updates only).")),
    **{
        f.name: (Annotated[_input_type(f) | None, WithJsonSchema(_input_json_schema(f))], None)
        for f in _FIELDS
    },
)

ScreeningOut = create_model(
    "ScreeningOut",
    __base__=Schema,
    __doc__="The stored screening CRF; `version` is null until it is first saved.",
    version=(int | None, ...),
    updated_at=(dt.datetime | None, ...),
    **{f.name: (_output_type(f), Field(..., description=_description(f))) for f in _FIELDS},
)


class ReasonOut(Schema):
    code: str = Field(..., description="Stable code of the reason, e.g. anc_below_min")
    params: dict[str, Any] = Field(
        ..., description="Its parameters (values, limits, units; a nested reason as {code, params})"
    )


class CriterionOut(Schema):
    code: str
    kind: str = Field(..., description="inclusion or exclusion")
    title: str = Field(..., description="English title")
    status: str = Field(
        ...,
        description=(
            "met; not_met (for an exclusion: the exclusion applies); not_evaluable (data "
            "missing); for a judgement criterion (I04, E11, E16) answered in the subject's "
            "favour: pending_attestation until the investigator attests it when signing, "
            "then attested"
        ),
    )
    reason: str = Field(..., description="English reason, parts separated by ' | '")
    reasons: list[ReasonOut] = Field(..., description="The reason as codes and parameters")


class SignatureOut(Schema):
    id: int
    printed_name: str
    signed_by: str = Field(..., description="Username of the signer")
    meaning: str
    signed_at: dt.datetime = Field(..., description="UTC")
    valid: bool = Field(..., description="Covers exactly the data stored now and is not void")
    voided_at: dt.datetime | None = Field(None, description="UTC")
    void_reason: str = Field(..., description="Why the signature no longer counts, if it does not")
    attested_criteria: list[str] = Field(
        ..., description="The judgement criteria the signer attested one by one when signing"
    )
    signature_hash: str = Field(
        ...,
        description=(
            "SHA-256 of what the signature binds: data hash, meaning, attested criteria, signer"
        ),
    )


class EligibilityOut(Schema):
    eligible: bool = Field(
        ...,
        description=(
            "Every criterion met, attested or pending_attestation (then eligible once the "
            "investigator attests them when signing)"
        ),
    )
    as_of: dt.date = Field(..., description="The site's today, the date the verdict is taken on")
    screening_version: int | None
    criteria: list[CriterionOut] = Field(
        ..., description="Failing first, then not evaluable, then the rest; protocol order"
    )
    signature: SignatureOut | None = Field(None, description="The latest signature, if any")
    screening_window_warning: str = Field(
        ..., description="Non-empty when planned C1D1 is outside the screening window"
    )
    data_hash: str | None = Field(
        ...,
        description=(
            "SHA-256 of the data this verdict was derived from (screening, demographics, "
            "reference ranges); send it back to sign. Null before the first save."
        ),
    )


class ScreeningSaved(Schema):
    screening: ScreeningOut
    verdict: EligibilityOut


class SignatureIn(_Strict):
    password: Text = Field(..., description="Your own password, re-entered to sign")
    data_hash: Text = Field(
        ...,
        pattern=r"^[0-9a-f]{64}$",
        description=(
            "The `data_hash` of the verdict you read (`GET .../eligibility`): only that data "
            "is signed; if it changed meanwhile nothing is signed."
        ),
    )
    attested_criteria: list[Text] = Field(
        default_factory=list,
        description=(
            "Every criterion of the verdict with status `pending_attestation` (investigator "
            "judgement: I04, E11, E16), which you attest yourself; without all of them nothing "
            "is signed (422 `attestation_required`)."
        ),
    )


class LogRowOut(Schema):
    subject_id: int
    screening_number: str
    site: str
    consent_date: dt.date
    status: str
    subject_number: str | None
    reason: str = Field(
        ..., description="Why screening ended without enrolment (screen failure, withdrawal, death)"
    )


class LogCountOut(Schema):
    site: str
    screened: int
    in_screening: int
    screen_failed: int
    withdrawn_in_screening: int
    enrolled: int


class ScreeningLogOut(Schema):
    rows: list[LogRowOut]
    counts: list[LogCountOut]


# --- helpers --------------------------------------------------------------------------------


def _screening_out(screening: Screening) -> dict:
    saved = screening.pk is not None
    body = {name: getattr(screening, name) for name in services.DATA_FIELDS}
    body.update(
        version=screening.version if saved else None,
        updated_at=screening.updated_at if saved else None,
    )
    return body


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.astimezone(dt.UTC) if moment is not None else None


def _signature_out(signature: EligibilitySignature, valid: bool) -> dict:
    void_reason = signature.void_reason
    if not valid and not void_reason:
        void_reason = "The data or the reference ranges changed after signing."
    return {
        "id": signature.pk,
        "printed_name": signature.printed_name,
        "signed_by": signature.signed_by.get_username(),
        "meaning": signature.meaning,
        "signed_at": _utc(signature.signed_at),
        "valid": valid,
        "voided_at": _utc(signature.voided_at),
        "void_reason": void_reason,
        "attested_criteria": list(signature.attested_criteria or ()),
        "signature_hash": signature.signature_hash,
    }


def _eligibility_out(subject: Subject, screening: Screening) -> dict:
    verdict = services.evaluate(subject, screening)
    signature = services.current_signature(subject)
    valid = services.valid_signature(subject, screening) if screening.pk else None
    return {
        "eligible": verdict.eligible,
        "as_of": subject.site.today(),
        "screening_version": screening.version if screening.pk else None,
        "criteria": [
            {
                "code": row["code"],
                "kind": row["kind"],
                "title": row["title_en"],
                "status": row["status"],
                "reason": row["reason_en"],
                "reasons": row["reasons"],
            }
            for row in services.criteria_rows(verdict, valid)
        ],
        "signature": (
            _signature_out(signature, valid is not None and valid.pk == signature.pk)
            if signature is not None
            else None
        ),
        "screening_window_warning": services.screening_window_warning(screening),
        "data_hash": services.data_hash(subject, screening) if screening.pk else None,
    }


# --- endpoints ------------------------------------------------------------------------------


@router.get(
    "/subjects/{subject_id}/screening",
    response=ScreeningOut,
    summary="The screening CRF (every field empty and version null before the first save)",
)
def get_screening(request, subject_id: PathId):
    subject = subject_for(request.auth, subject_id)
    return _screening_out(services.get_screening(subject))


@router.put(
    "/subjects/{subject_id}/screening",
    response={200: ScreeningSaved, 201: ScreeningSaved},
    summary="Enter (201) or correct (200; version and reason required) the screening CRF",
    description=(
        "Checked by the same service as the screening page, with its error codes: "
        "`implausible_value`, `unit_required`, `unit_not_for_analyte`, `future_date`, "
        "`before_birth`, `c1d1_before_screening`, `date_range`, the model's limits "
        "(`min_value`, `max_value`, `invalid_choice`, `max_digits` ...), and for a correction "
        "`version_required` and `required` (reason). "
        "Fields left out keep their stored value; `null` clears one. A correction voids an "
        "investigator signature that no longer covers the data. Only while the subject is in "
        "screening: afterwards the screening is read-only (422, as on the page)."
    ),
)
def put_screening(request, subject_id: PathId, payload: ScreeningIn):
    subject = subject_for(request.auth, subject_id)
    require(request.auth, Action.ENTER_DATA, subject.site_id)
    saved = services.get_screening(subject).pk is not None
    # The schema typed the JSON (dates, Decimals, bools); the service checks it, as the page's.
    changes = payload.model_dump(exclude_unset=True)
    version, reason = changes.pop("version", None), changes.pop("reason", None)
    screening = services.save_screening(
        subject=subject,
        changes=changes,
        expected_version=version,
        by=request.auth,
        reason=reason or "",
    )
    screening = Screening.objects.get(pk=screening.pk)  # as stored: decimals to 3 places
    subject.refresh_from_db()
    body = {
        "screening": _screening_out(screening),
        "verdict": _eligibility_out(subject, screening),
    }
    return Status(200 if saved else 201, body)


@router.get(
    "/subjects/{subject_id}/eligibility",
    response=EligibilityOut,
    summary="Eligibility verdict of the stored data, the signature and the screening window",
)
def get_eligibility(request, subject_id: PathId):
    subject = subject_for(request.auth, subject_id)
    return _eligibility_out(subject, services.get_screening(subject))


@router.post(
    "/subjects/{subject_id}/eligibility/signature",
    response={200: SignatureOut, 201: SignatureOut},
    summary="Sign the eligible verdict (investigator of the subject's site)",
    description=(
        f"Meaning of the signature: “{EligibilitySignature.MEANING}”. Send `data_hash` of the "
        "verdict you read (`GET .../eligibility`): if the data changed since, nothing is "
        "signed (422). The password is checked as at login; failed attempts count towards "
        "the lockout. A wrong password signs nothing (422 on `password`); a verdict that is "
        "not eligible cannot be signed (422); neither can one whose judgement criteria are "
        "not all in `attested_criteria` (422 `attestation_required`), nor a subject no longer "
        "in screening (422). 201: signed. 200: this very data was signed already (a replayed "
        "request, or another investigator): the existing signature is returned and nothing "
        "is created."
    ),
)
def sign_eligibility(request, subject_id: PathId, payload: SignatureIn):
    subject = subject_for(request.auth, subject_id)
    require(request.auth, Action.SIGN, subject.site_id)
    signature = services.sign_eligibility(
        subject=subject,
        by=request.auth,
        password=payload.password,
        expected_hash=payload.data_hash,
        attested=payload.attested_criteria,
        request=request,
    )
    created = signature.created
    signature = EligibilitySignature.objects.select_related("signed_by").get(pk=signature.pk)
    return Status(201 if created else 200, _signature_out(signature, valid=True))


@router.get(
    "/screening-log",
    response=ScreeningLogOut,
    summary="Everyone screened at your sites, with outcome, reason and counts per site",
    description=API_PAGE_DESCRIPTION + " `rows` is paginated; `counts` are over all rows.",
)
def screening_log(
    request,
    response: HttpResponse,
    site: Annotated[Text | None, Query(None, description="Site code", max_length=6)] = None,
    page: PageQuery = 1,
    page_size: PageSizeQuery = PAGE_SIZE,
):
    sites = visible_sites(request.auth)
    if site:
        sites = sites.filter(code=site)
    subjects = services.screening_log_subjects(request.auth, sites)
    rows = services.screening_log_reasons(api_page(request, response, subjects, page, page_size))
    counts = services.screening_log_counts(subjects)
    return {
        "rows": [
            {
                "subject_id": s.pk,
                "screening_number": s.screening_number,
                "site": s.site.code,
                "consent_date": s.consent_date,
                "status": s.status,
                "subject_number": s.subject_number,
                "reason": reason,
            }
            for s, reason in rows
        ],
        "counts": [
            {
                "site": c["site__code"],
                "screened": c["screened"],
                "in_screening": c["in_screening"],
                "screen_failed": c["screen_failed"],
                "withdrawn_in_screening": c["withdrawn_in_screening"],
                "enrolled": c["enrolled"],
            }
            for c in counts
        ],
    }
