"""Write paths and selectors of eligibility: screening CRF, verdict, e-signature, enrolment gate.

The verdict is never stored as truth: it is derived by ``eligibility.rules`` from the data
each time. A signature stores the SHA-256 of the data it covered; when the data changes
the signature is voided (audited, with the reason) and enrolment needs a new one.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Now
from django.utils.translation import gettext as _

from accounts.access import Action, get_access, require, scope
from accounts.signatures import content_hash, printed_name, reauthenticate
from alter_s006 import protocol as P
from audit.context import audit_context, lock_audit_chain
from audit.versioning import EditConflict, require_reason
from eligibility import rules
from eligibility.models import EligibilitySignature, ReferenceRange, Screening
from eligibility.validation import validate_screening
from subjects.lifecycle import SubjectStatus as S
from subjects.models import StatusChange, Subject

LAB_ANALYTES = (
    "hb",
    "anc",
    "plt",
    "creatinine",
    "creatinine_clearance",
    "bun",
    "bilirubin",
    "ast",
    "alt",
    "albumin",
)
FIXED_UNITS = {
    "anc": "10^9/L",
    "plt": "10^9/L",
    "creatinine_clearance": "mL/min",
    "ast": "U/L",
    "alt": "U/L",
}
DATA_FIELDS = tuple(
    f.name
    for f in Screening._meta.get_fields()
    if f.concrete and f.name not in {"id", "subject", "version", "created_at", "updated_at"}
)


def plain(value: Decimal | None) -> Decimal | None:
    """120.000 -> 120, 3.100 -> 3.1: the value as a person wrote it (the column has 3 places)."""
    if value is None:
        return None
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _lab(screening: Screening, analyte: str) -> rules.Lab:
    value = plain(getattr(screening, f"{analyte}_value"))
    unit = FIXED_UNITS.get(analyte) or getattr(screening, f"{analyte}_unit", "") or None
    return rules.Lab(value=value, unit=unit if value is not None else unit)


def to_input(subject: Subject, screening: Screening, enrolment_date: dt.date | None):
    """The plain values the pure rules read (demographics from the subject, the rest entered)."""
    names = {f.name for f in dataclasses.fields(rules.ScreeningInput)}
    values = {
        name: getattr(screening, name)
        for name in names
        if hasattr(screening, name) and name not in LAB_ANALYTES
    }
    values.update({a: _lab(screening, a) for a in LAB_ANALYTES})
    values["fasting_glucose"] = rules.Lab(
        value=plain(screening.fasting_glucose_value), unit=screening.fasting_glucose_unit or None
    )
    values.update(
        sex=subject.sex,
        date_of_birth=subject.date_of_birth,
        year_of_birth=subject.year_of_birth,
        consent_date=subject.consent_date,
        enrolment_date=enrolment_date,
    )
    for key in ("histology_other",):
        values[key] = values.get(key) or ""
    for key in names:
        if key in values and values[key] == "" and key != "histology_other":
            values[key] = None  # blank choice = not entered
    return rules.ScreeningInput(**{k: v for k, v in values.items() if k in names})


def ref_range(row: ReferenceRange) -> rules.RefRange:
    """A stored reference range as the pure rules read it."""
    return rules.RefRange(
        analyte=row.analyte,
        unit=row.unit,
        lln=plain(row.lln),
        uln=plain(row.uln),
        sex=row.sex or None,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
    )


def site_ranges(site_ids) -> dict[int, list[rules.RefRange]]:
    """Every reference range of these sites, as the pure rules read them (one query)."""
    by_site: dict[int, list[rules.RefRange]] = {}
    for row in ReferenceRange.objects.filter(site_id__in=site_ids):
        by_site.setdefault(row.site_id, []).append(ref_range(row))
    return by_site


def ranges_for(
    subject: Subject, screening: Screening, site_candidates: list | None = None
) -> dict[str, rules.RefRange]:
    """The site's reference range in force on the laboratory date, per analyte (one query,
    none when the caller passes the site's ranges from :func:`site_ranges`)."""
    if screening.lab_date is None:
        return {}
    if site_candidates is None:
        site_candidates = site_ranges([subject.site_id]).get(subject.site_id, [])
    return rules.ranges_in_force(site_candidates, sex=subject.sex, on=screening.lab_date)


def evaluate(
    subject: Subject,
    screening: Screening | None = None,
    enrolment_date: dt.date | None = None,
    ranges: dict[str, rules.RefRange] | None = None,
) -> rules.Verdict:
    """Derive the verdict from what is stored now (``ranges`` when the caller has them)."""
    screening = screening if screening is not None else get_screening(subject)
    today = enrolment_date or subject.site.today()
    if ranges is None:
        ranges = ranges_for(subject, screening)
    return rules.evaluate(to_input(subject, screening, today), ranges)


def _jsonable(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.normalize())
    return value


def data_hash(subject: Subject, screening: Screening) -> str:
    """SHA-256 over the entered data and the reference ranges the verdict used."""
    entered = {name: _jsonable(getattr(screening, name)) for name in DATA_FIELDS}
    entered.update(
        subject_sex=subject.sex,
        subject_dob=_jsonable(subject.date_of_birth),
        subject_yob=subject.year_of_birth,
        subject_consent=_jsonable(subject.consent_date),
    )
    # A range's end date is not hashed: ending a range after the laboratory date leaves the
    # verdict as it was (and the hashes signed before end dates existed still match).
    entered["ranges"] = {
        a: {k: _jsonable(v) for k, v in dataclasses.asdict(r).items() if k != "valid_to"}
        for a, r in sorted(ranges_for(subject, screening).items())
    }
    return content_hash(entered)


def get_screening(subject: Subject) -> Screening:
    """The subject's screening CRF (an unsaved empty one before the first save)."""
    try:
        return subject.screening
    except Screening.DoesNotExist:
        return Screening(subject=subject)


def save_screening(
    *, subject: Subject, changes: dict, expected_version: int | None, by, reason: str = ""
) -> Screening:
    """Create the screening CRF or correct it (reason, version); void stale signatures.

    The one validation of the CRF, for the page and the API (issue 11 A1): ``changes`` holds
    typed Python values (dates, Decimals, bools, ints, text; None clears a field). The model's
    own limits (types, choices, digits) and :func:`eligibility.validation.validate_screening`
    (dates, units, plausibility, version and reason) are checked together; every refusal is
    one field-keyed ``ValidationError`` with a code, and nothing is stored.

    Only while the subject is in screening (code ``not_in_screening``): after enrolment or a
    screen failure the data the decision rested on is read-only, on the page and the API.
    """
    _require_editable(subject)
    before = _stored_screening(subject)
    changes = _typed_changes(changes)
    check_screening(subject, before, changes, expected_version=expected_version, reason=reason)
    if before.pk is not None and before.version != expected_version:
        raise EditConflict(current=before, submitted=changes, expected_version=expected_version)
    # One transaction: the data and the voiding of the signatures it invalidates commit together.
    with transaction.atomic():
        lock_audit_chain(subject)
        # The status as locked: an enrolment committed meanwhile closes the screening too.
        locked = Subject.objects.select_for_update().get(pk=subject.pk)
        _require_editable(locked)
        if before.pk is None:
            screening = _create_screening(subject, changes, by=by, reason=reason)
        else:
            screening = _correct_screening(before, changes, expected_version, by=by, reason=reason)
        void_stale_signatures(subject, by=by, why=_changed_fields(before, changes))
    subject.screening = screening  # the caller's subject reads the data just saved
    return screening


def _stored_screening(subject: Subject) -> Screening:
    """The screening as stored, to compare with and validate over (read again: the caller's
    instance may carry typed values already); unsaved when the caller read it before its
    first save (a concurrent first save then conflicts on the insert)."""
    opened = Subject.screening.related
    if opened.is_cached(subject) and getattr(opened.get_cached_value(subject), "pk", None) is None:
        return Screening(subject=subject)
    return Screening.objects.filter(subject_id=subject.pk).first() or Screening(subject=subject)


def _as_stored(field, value):
    """``value`` as the column returns it: a decimal to the field's places (30 -> 30.000)."""
    if isinstance(value, Decimal) and getattr(field, "decimal_places", None) is not None:
        return value.quantize(Decimal(1).scaleb(-field.decimal_places))
    return value


def _correct_screening(
    before: Screening, changes: dict, expected_version: int, *, by, reason: str
) -> Screening:
    """A correction of the stored screening ``before`` (read at ``expected_version`` and
    validated with ``changes`` by ``check_screening``), within the caller's transaction and its
    subject's chain lock: one UPDATE, if the row is still at that version (else
    ``EditConflict``). The row then reads ``before`` with ``changes`` and the next version:
    it is not read back (``updated_at``, the database's clock, is read if asked for)."""
    reason = require_reason(reason)
    with audit_context(user=by, reason=reason):
        updated = Screening.objects.filter(pk=before.pk, version=expected_version).update(
            **changes, version=F("version") + 1, updated_at=Now()
        )
        if updated == 0:
            raise EditConflict(
                current=Screening.objects.get(pk=before.pk),
                submitted=changes,
                expected_version=expected_version,
            )
    screening = copy.copy(before)
    for name, value in changes.items():
        setattr(screening, name, _as_stored(Screening._meta.get_field(name), value))
    screening.version = expected_version + 1
    screening.__dict__.pop("updated_at", None)
    return screening


def _typed_changes(changes: dict) -> dict:
    """``changes`` restricted to the CRF's fields (another name is refused, code
    ``unknown_field``); None clears a text field to "" (its empty value)."""
    unknown = sorted(set(changes) - set(DATA_FIELDS))
    if unknown:
        raise ValidationError(
            {
                name: ValidationError(_("Not a field of the screening CRF."), code="unknown_field")
                for name in unknown
            }
        )
    typed = {}
    for name, value in changes.items():
        field = Screening._meta.get_field(name)
        typed[name] = "" if value is None and not field.null else value
    return typed


def _earliest_birthday(subject: Subject) -> dt.date | None:
    if subject.date_of_birth is not None:
        return subject.date_of_birth
    if subject.year_of_birth is not None:
        return dt.date(subject.year_of_birth, 1, 1)
    return None


def check_screening(
    subject: Subject,
    stored: Screening,
    changes: dict,
    *,
    expected_version: int | None,
    reason: str,
) -> None:
    """Every check of a save of ``changes`` over ``stored``, in one ``ValidationError``.

    The model's limits first (``full_clean``: types, choices, digits, min/max); then
    :func:`eligibility.validation.validate_screening` on the resulting values (a field the
    model refused already gets no second message).
    """
    values = {name: getattr(stored, name) for name in DATA_FIELDS}
    values.update(changes)
    candidate = Screening(subject=subject, **values)
    errors: dict[str, list] = {}
    try:
        candidate.full_clean(exclude=["subject", "version"], validate_unique=False)
    except ValidationError as exc:
        for field, field_errors in exc.error_dict.items():
            errors.setdefault(field, []).extend(field_errors)
    refused = set(errors)
    try:
        validate_screening(
            {k: v for k, v in values.items() if k not in refused},
            today=subject.site.today(),
            correction=stored.pk is not None,
            expected_version=expected_version,
            reason=reason,
            born=_earliest_birthday(subject),
        )
    except ValidationError as exc:
        for field, field_errors in exc.error_dict.items():
            if field not in refused:
                errors.setdefault(field, []).extend(field_errors)
    if errors:
        raise ValidationError(errors)


def _create_screening(subject: Subject, changes: dict, *, by, reason: str) -> Screening:
    """The first save; a concurrent first save by someone else is an edit conflict."""
    screening = Screening(subject=subject, **changes)
    screening.full_clean(validate_unique=False)
    try:
        with transaction.atomic(), audit_context(user=by, reason=reason, subject=subject):
            screening.save()
    except IntegrityError as exc:
        saved = Screening.objects.filter(subject=subject).first()
        if saved is None:
            raise
        raise EditConflict(current=saved, submitted=changes, expected_version=0) from exc
    return screening


def _changed_fields(before: Screening, changes: dict) -> str:
    if before.pk is None:
        return ""
    fields = [name for name, value in changes.items() if getattr(before, name) != value]
    return ", ".join(fields)


def void_stale_signatures(subject: Subject, *, by, why: str = "") -> int:
    """Void every active signature whose hash no longer matches the data; returns how many."""
    active = list(EligibilitySignature.objects.filter(subject=subject, voided_at__isnull=True))
    if not active:
        return 0
    subject.refresh_from_db()
    current = data_hash(subject, get_screening(subject))
    stale = [s.pk for s in active if s.data_hash != current]
    if stale:
        reason = "Data changed after signing" + (f": {why}" if why else "")
        with transaction.atomic(), audit_context(user=by, reason=reason, subject=subject):
            EligibilitySignature.objects.filter(pk__in=stale).update(
                voided_at=Now(),
                void_reason=reason[:500],  # the database clock, as signed_at
            )
    return len(stale)


def current_signature(subject: Subject) -> EligibilitySignature | None:
    """The latest signature (void or not), for display."""
    return EligibilitySignature.objects.filter(subject=subject).select_related("signed_by").first()


def valid_signature(subject: Subject, screening: Screening) -> EligibilitySignature | None:
    """The active signature that covers exactly the data stored now, and the investigator's
    attestation of every judgement criterion the data answers in the subject's favour."""
    signature = EligibilitySignature.objects.filter(subject=subject, voided_at__isnull=True).first()
    if signature is None or signature.data_hash != data_hash(subject, screening):
        return None
    if not _covers_attestations(signature, evaluate(subject, screening)):
        return None
    return signature


def _covers_attestations(signature: EligibilitySignature, verdict: rules.Verdict) -> bool:
    return set(pending_attestations(verdict)) <= set(signature.attested_criteria or ())


def criteria_rows(verdict: rules.Verdict, signature: EligibilitySignature | None = None) -> list:
    """The checklist as the pages and the API show it, in the request's language.

    A judgement criterion answered in the subject's favour is ``pending_attestation`` until
    ``signature`` (the valid one) carries the investigator's attestation of it, then
    ``attested`` (with who and when); never met on the coordinator's word. Titles and reasons
    are translated from the rules' codes and parameters (``reasons`` keeps those).
    """
    attested = set(signature.attested_criteria or ()) if signature is not None else set()
    rows = []
    for r in verdict.checklist():
        status = r.status.value
        if r.status is rules.Status.ATTESTED:
            status = "attested" if r.code in attested else "pending_attestation"
        rows.append(
            {
                "code": r.code,
                "kind": r.kind.value,
                "status": status,
                "title": r.title_text(_),
                "reason": r.reason_text(_),
                "title_en": r.title,
                "reason_en": r.reason,
                "reasons": [reason.as_json() for reason in r.reasons],
                "judgement": r.code in rules.JUDGEMENT_CRITERIA,
                "attested_by": signature if status == "attested" else None,
            }
        )
    return rows


def pending_attestations(verdict: rules.Verdict) -> list[str]:
    """The judgement criteria (``rules.JUDGEMENT_CRITERIA``) answered in the subject's favour:
    the investigator attests each one when signing; until then they are pending."""
    return [
        r.code
        for r in verdict.results
        if r.code in rules.JUDGEMENT_CRITERIA and r.status is rules.Status.ATTESTED
    ]


def _require_attestations(verdict: rules.Verdict, attested) -> list[str]:
    """The criteria to attest, all attested by the signer; else ``attestation_required`` (or
    ``not_attestable`` for a code that is no pending judgement criterion)."""
    needed = pending_attestations(verdict)
    given = set(attested or ())
    extra = sorted(given - set(needed))
    if extra:
        raise ValidationError(
            {
                "attested_criteria": ValidationError(
                    _("Not a judgement criterion awaiting your attestation: %(codes)s.")
                    % {"codes": ", ".join(extra)},
                    code="not_attestable",
                )
            }
        )
    missing = [code for code in needed if code not in given]
    if missing:
        raise ValidationError(
            {
                "attested_criteria": ValidationError(
                    _(
                        "Attest each judgement criterion yourself before signing; not yet "
                        "attested: %(codes)s. Nothing was signed."
                    )
                    % {"codes": ", ".join(missing)},
                    code="attestation_required",
                )
            }
        )
    return needed


def signature_hash(*, data_hash: str, meaning: str, attested: list[str], signer_id: int) -> str:
    """SHA-256 of what an eligibility signature binds (21 CFR 11.70): the data, the meaning,
    the criteria the signer attested and the signer."""
    return content_hash(
        {
            "data_hash": data_hash,
            "meaning": meaning,
            "attested_criteria": sorted(attested),
            "signed_by": signer_id,
        }
    )


def sign_eligibility(
    *,
    subject: Subject,
    by,
    password: str,
    expected_hash: str,
    attested=(),
    request=None,
) -> EligibilitySignature:
    """The investigator's e-signature: password re-entered, meaning shown, bound to the data.

    ``expected_hash`` is the :func:`data_hash` of what the investigator was shown (the
    signing page, or ``data_hash`` of ``GET .../eligibility`` over the API). It is required
    and compared, under a lock on the subject and screening rows, with the data stored at
    the moment of signing: if they differ nothing is signed (code ``stale_data``).

    Only while the subject is in screening (code ``not_in_screening``): a signature after
    enrolment would supersede the one the enrolment relied on.

    Idempotent: if an active signature already covers exactly this data (a replayed
    request, or a second investigator signing the same data), it is returned and nothing
    is created or superseded; its ``created`` attribute is then False (True for a new one).

    ``request`` must be the real request: django-axes counts a wrong password towards the
    account's lockout as at login.

    ``attested``: the judgement criteria (``rules.JUDGEMENT_CRITERIA``) the signer attests
    one by one. Each one the screening answered in the subject's favour must be among them
    (code ``attestation_required``; checked before the password, so it costs no attempt);
    they are stored on the signature and bound by its ``signature_hash``.
    """
    require(by, Action.SIGN, subject.site_id)
    if not password:
        raise ValidationError(
            {"password": ValidationError(_("This field is required."), code="required")}
        )
    if not expected_hash:
        raise ValidationError(
            {
                "data_hash": ValidationError(
                    _("Sign from the verdict you read: the hash of the data shown is missing."),
                    code="data_hash_required",
                )
            }
        )
    _require_screening(subject)  # early, so that a refused request costs no password attempt
    if get_screening(subject).pk is None:
        raise ValidationError(_("Enter the screening data before signing."), code="no_data")
    early = evaluate(subject)
    if early.eligible:  # attestations first: a missing one costs no password attempt
        _require_attestations(early, attested)
    reauthenticate(by, password, request)  # outside the transaction: failures count
    with transaction.atomic(), audit_context(user=by, reason="Eligibility e-signature"):
        # audit_context took the study-level chain (a reference-range change voids
        # signatures under it: none slips through meanwhile); then the subject's (its
        # corrections take it too: the data cannot change until commit). Study, then subject.
        lock_audit_chain(subject)
        # Row locks on what the hash covers (demographics, status, screening): a correction,
        # an enrolment or a second signature waits until this one commits, and what is
        # compared below is what is signed.
        Subject.objects.select_for_update().get(pk=subject.pk)
        subject.refresh_from_db()  # the status and demographics as locked
        _require_screening(subject)
        screening = Screening.objects.select_for_update().get(subject=subject)
        subject.screening = screening
        signed_hash = data_hash(subject, screening)
        if expected_hash != signed_hash:
            raise ValidationError(
                _(
                    "The screening data changed while you were reading it. Nothing was "
                    "signed: review the verdict again, then sign."
                ),
                code="stale_data",
            )
        verdict = evaluate(subject, screening)
        if not verdict.eligible:
            raise ValidationError(
                _("The verdict is not eligible: there is nothing to sign."), code="not_eligible"
            )
        attested_now = _require_attestations(verdict, attested)
        active = EligibilitySignature.objects.filter(subject=subject, voided_at__isnull=True)
        existing = active.filter(data_hash=signed_hash).first()
        if existing is not None and _covers_attestations(existing, verdict):
            # this data is signed already, with its attestations: one signature, not two
            existing.created = False
            return existing
        active.update(voided_at=Now(), void_reason="Superseded by a new signature")
        signature = EligibilitySignature.objects.create(
            subject=subject,
            signed_by=by,
            printed_name=printed_name(by),
            meaning=EligibilitySignature.MEANING,
            data_hash=signed_hash,
            verdict=verdict_json(verdict),
            attested_criteria=attested_now,
            signature_hash=signature_hash(
                data_hash=signed_hash,
                meaning=EligibilitySignature.MEANING,
                attested=attested_now,
                signer_id=by.pk,
            ),
        )
        signature.created = True
        return signature


def _require_editable(subject: Subject) -> None:
    """Screening data is entered and corrected while the subject is in screening only."""
    if subject.status != S.SCREENING:
        raise ValidationError(
            _(
                "The subject is no longer in screening (%(status)s): the screening data is "
                "read-only. Nothing was saved."
            )
            % {"status": subject.get_status_display()},
            code="not_in_screening",
        )


def _require_screening(subject: Subject) -> None:
    """Eligibility is signed during screening only, never after the subject left it."""
    if subject.status != S.SCREENING:
        raise ValidationError(
            _(
                "The subject is no longer in screening (%(status)s): eligibility cannot be "
                "signed any more. Nothing was signed."
            )
            % {"status": subject.get_status_display()},
            code="not_in_screening",
        )


def verdict_json(verdict: rules.Verdict) -> dict:
    return {
        "eligible": verdict.eligible,
        "results": [
            {
                "code": r.code,
                "kind": r.kind.value,
                "status": r.status.value,
                "reason": r.reason,
                "reasons": [reason.as_json() for reason in r.reasons],
            }
            for r in verdict.results
        ],
    }


def assert_enrolable(subject: Subject, *, on_date: dt.date, c1d1: dt.date | None) -> dt.date:
    """Raise unless a valid signature covers an eligible verdict; return the C1D1 to use.

    Codes: ``no_screening``, ``not_eligible``, ``not_signed`` (on ``status``), and
    ``c1d1_not_planned`` (on ``c1d1``)."""
    screening = get_screening(subject)
    if screening.pk is None:
        raise ValidationError(
            {"status": ValidationError(_("Enter the screening data first."), code="no_screening")}
        )
    verdict = evaluate(subject, screening, enrolment_date=on_date)
    if not verdict.eligible:
        codes = ", ".join(r.code for r in verdict.failing + verdict.missing)
        raise ValidationError(
            {
                "status": ValidationError(
                    _("The subject is not eligible (%s).") % codes, code="not_eligible"
                )
            }
        )
    if valid_signature(subject, screening) is None:
        raise ValidationError(
            {
                "status": ValidationError(
                    _("An investigator must sign the eligibility verdict first."),
                    code="not_signed",
                )
            }
        )
    planned = screening.planned_c1d1
    if c1d1 is not None and c1d1 != planned:
        raise ValidationError(
            {
                "c1d1": ValidationError(
                    _(
                        "C1D1 must be the planned date signed for (%(d)s). To move it, change "
                        "the planned C1D1 in the screening form; the investigator then signs "
                        "again."
                    )
                    % {"d": planned},
                    code="c1d1_not_planned",
                )
            }
        )
    return planned


def screening_window_warning(screening: Screening) -> str:
    """The screening-window warning (rule: ``rules.screening_window_exceeded``)."""
    days = rules.screening_window_exceeded(screening.first_procedure_date, screening.planned_c1d1)
    if days is None:
        return ""
    return _(
        "Planned C1D1 is %(d)d days after the first screening procedure; the "
        "screening window is %(l)d days."
    ) % {"d": days, "l": P.SCREENING_MAX_DAYS_BEFORE_C1D1}


def failure_reason(verdict: rules.Verdict) -> str:
    """The screen-failure reason: every criterion not met, with its one-line reason."""
    return "; ".join(f"{r.code}: {r.reason}" for r in verdict.failing)[:500]


def screening_log_subjects(user, sites):
    """Everyone screened at these sites that the user may see, in the log's order."""
    return (
        scope(Subject.objects.filter(site__in=sites), user)
        .select_related("site")
        .order_by("site__code", "screening_number")
    )


def screening_log_counts(subjects) -> list[dict]:
    """CONSORT-style counts per site, aggregated by the database over all ``subjects``
    (never over the page shown)."""
    return list(
        subjects.order_by()
        .values("site__code")
        .annotate(
            screened=Count("id"),
            in_screening=Count("id", filter=Q(status=S.SCREENING)),
            screen_failed=Count("id", filter=Q(status=S.SCREEN_FAILED)),
            enrolled=Count("id", filter=Q(subject_number__isnull=False)),
            withdrawn_in_screening=Count(
                "id", filter=Q(subject_number__isnull=True) & Q(status__in=[S.WITHDRAWN, S.DIED])
            ),
        )
        .order_by("site__code")
    )


def screening_log_reasons(subjects) -> list[tuple[Subject, str]]:
    """(subject, reason screening ended without enrolment) for these subjects (a page of the
    log): screen failure, withdrawal or death. One query whatever their number."""
    subjects = list(subjects)
    failures = dict(
        StatusChange.objects.filter(
            subject_id__in=[s.pk for s in subjects],
            from_status=S.SCREENING,
            to_status__in=[S.SCREEN_FAILED, S.WITHDRAWN, S.DIED],
        ).values_list("subject_id", "reason")
    )
    return [(s, failures.get(s.pk, "")) for s in subjects]


def screening_log(user, sites):
    """Every screened subject with outcome and reason; CONSORT-style counts per site. The
    pages and the API show it a page at a time through the three functions above."""
    subjects = screening_log_subjects(user, sites)
    return screening_log_reasons(subjects), screening_log_counts(subjects)


def can_sign(user, subject: Subject) -> bool:
    return get_access(user).can(Action.SIGN, subject.site_id)
