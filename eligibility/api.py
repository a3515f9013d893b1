"""Screening CRF, eligibility verdict, e-signature and screening log over the API.

The same access helper, form validation and services as the pages (``eligibility.views``):

* ``PUT .../screening`` validates with :class:`eligibility.forms.ScreeningForm`, so the API
  gives the page's messages (plausibility, units, dates in the future, reason for change).
  The body is laid over the stored screening, as the page form is pre-filled with it: a
  field left out keeps its stored value, ``null`` clears it.
* ``GET .../screening`` before the first save answers 200 with every field empty and
  ``version: null`` (not 404: a 404 means the subject is unknown or not yours).
* The verdict is derived from the stored data each time (``eligibility.rules``); the
  signature binds it to the data, and a change to the data voids the signature.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import translation
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict, WithJsonSchema, create_model

from accounts.access import Action, require, visible_sites
from alter_s006.api_types import DECIMAL_PATTERN, Bool, Date, Int, NumberOrText, PathId, Query, Text
from alter_s006.web import subject_for
from eligibility import services
from eligibility.forms import LAB_FIELDS, ScreeningForm, SignatureForm
from eligibility.models import EligibilitySignature, Screening
from eligibility.units import UNITS
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
    """What the API documents for a field; the form does the checking."""
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
        return NumberOrText  # the form checks the text, with its messages
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


class CriterionOut(Schema):
    code: str
    kind: str = Field(..., description="inclusion or exclusion")
    title: str
    status: str = Field(
        ...,
        description=(
            "met, attested (investigator judgement in the subject's favour), not_met "
            "(for an exclusion: the exclusion applies) or not_evaluable (data missing)"
        ),
    )
    reason: str


class SignatureOut(Schema):
    id: int
    printed_name: str
    signed_by: str = Field(..., description="Username of the signer")
    meaning: str
    signed_at: dt.datetime = Field(..., description="UTC")
    valid: bool = Field(..., description="Covers exactly the data stored now and is not void")
    voided_at: dt.datetime | None = Field(None, description="UTC")
    void_reason: str = Field(..., description="Why the signature no longer counts, if it does not")


class EligibilityOut(Schema):
    eligible: bool = Field(..., description="Every criterion met or attested")
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


def _encode(value) -> Any:
    """A JSON or stored value as the browser would post it to the page form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)  # "True" / "False", the yes/no radio values
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    return value


def _form_errors(form) -> ValidationError:
    return ValidationError({f: [str(e) for e in errs] for f, errs in form.errors.items()})


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
                "code": r.code,
                "kind": r.kind.value,
                "title": r.title,
                "status": r.status.value,
                "reason": r.reason,
            }
            for r in verdict.checklist()
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
        "Validated like the screening page: plausibility, units per analyte, no future dates. "
        "Fields left out keep their stored value; `null` clears one. A correction voids an "
        "investigator signature that no longer covers the data. Only while the subject is in "
        "screening: afterwards the screening is read-only (422, as on the page)."
    ),
)
def put_screening(request, subject_id: PathId, payload: ScreeningIn):
    subject = subject_for(request.auth, subject_id)
    require(request.auth, Action.ENTER_DATA, subject.site_id)
    current = services.get_screening(subject)
    saved = current.pk is not None
    sent = payload.model_dump(exclude_unset=True)
    version, reason = sent.pop("version", None), sent.pop("reason", None)
    data = {name: _encode(getattr(current, name)) for name in services.DATA_FIELDS}
    data.update({name: _encode(value) for name, value in sent.items()})
    data.update(version=_encode(version), reason=reason or "")
    form = ScreeningForm(
        data,
        # a copy: the form writes onto its instance, and save_screening compares with the
        # stored screening to name the changed fields when it voids a signature
        instance=Screening.objects.get(pk=current.pk) if saved else None,
        site_today=subject.site.today(),
        saved=saved,
    )
    errors = {} if form.is_valid() else _form_errors(form).message_dict
    if saved and version is None:
        errors.setdefault("version", []).append(
            "The screening was saved before: send the version you read."
        )
    if errors:
        raise ValidationError(errors)
    screening = services.save_screening(
        subject=subject,
        changes={name: form.cleaned_data[name] for name in services.DATA_FIELDS},
        expected_version=version,
        by=request.auth,
        reason=form.cleaned_data.get("reason") or "",
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
        "not eligible cannot be signed (422); neither can a subject no longer in screening "
        "(422). 201: signed. 200: this very data was signed already (a replayed request, or "
        "another investigator): the existing signature is returned and nothing is created."
    ),
)
def sign_eligibility(request, subject_id: PathId, payload: SignatureIn):
    subject = subject_for(request.auth, subject_id)
    require(request.auth, Action.SIGN, subject.site_id)
    form = SignatureForm({"password": payload.password})
    if not form.is_valid():
        raise _form_errors(form)
    signature = services.sign_eligibility(
        subject=subject,
        by=request.auth,
        password=payload.password,
        expected_hash=payload.data_hash,
        request=request,
    )
    created = signature.created
    signature = EligibilitySignature.objects.select_related("signed_by").get(pk=signature.pk)
    return Status(201 if created else 200, _signature_out(signature, valid=True))


@router.get(
    "/screening-log",
    response=ScreeningLogOut,
    summary="Everyone screened at your sites, with outcome, reason and counts per site",
)
def screening_log(
    request,
    site: Annotated[Text | None, Query(None, description="Site code", max_length=6)] = None,
):
    sites = visible_sites(request.auth)
    if site:
        sites = sites.filter(code=site)
    rows, counts = services.screening_log(request.auth, sites)
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
