"""Write paths and selectors of eligibility: screening CRF, verdict, e-signature, enrolment gate.

The verdict is never stored as truth: it is derived by ``eligibility.rules`` from the data
each time. A signature stores the SHA-256 of the data it covered; when the data changes
the signature is voided (audited, with the reason) and enrolment needs a new one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.db.models.functions import Now
from django.utils.translation import gettext as _

from accounts.access import Action, get_access, require, scope
from accounts.signatures import content_hash, printed_name, reauthenticate
from alter_s006 import protocol as P
from audit.context import audit_context, lock_audit_chain
from audit.versioning import EditConflict, save_versioned
from eligibility import rules
from eligibility.models import EligibilitySignature, ReferenceRange, Screening
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

    Only while the subject is in screening (code ``not_in_screening``): after enrolment or a
    screen failure the data the decision rested on is read-only, on the page and the API.
    """
    _require_editable(subject)
    current = get_screening(subject)
    # Compare with the row as stored: the caller's instance may carry typed values already.
    before = Screening.objects.filter(pk=current.pk).first() if current.pk else current
    # One transaction: the data and the voiding of the signatures it invalidates commit together.
    with transaction.atomic():
        lock_audit_chain()
        # The status as locked: an enrolment committed meanwhile closes the screening too.
        locked = Subject.objects.select_for_update().get(pk=subject.pk)
        _require_editable(locked)
        if current.pk is None:
            screening = _create_screening(subject, changes, by=by, reason=reason)
        else:
            screening = save_versioned(
                current, expected_version=expected_version, changes=changes, by=by, reason=reason
            )
        void_stale_signatures(subject, by=by, why=_changed_fields(before, changes))
    subject.screening = screening  # the caller's subject reads the data just saved
    return screening


def _create_screening(subject: Subject, changes: dict, *, by, reason: str) -> Screening:
    """The first save; a concurrent first save by someone else is an edit conflict."""
    screening = Screening(subject=subject, **changes)
    screening.full_clean(validate_unique=False)
    try:
        with transaction.atomic(), audit_context(user=by, reason=reason):
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
        with transaction.atomic(), audit_context(user=by, reason=reason):
            EligibilitySignature.objects.filter(pk__in=stale).update(
                voided_at=Now(),
                void_reason=reason[:500],  # the database clock, as signed_at
            )
    return len(stale)


def current_signature(subject: Subject) -> EligibilitySignature | None:
    """The latest signature (void or not), for display."""
    return EligibilitySignature.objects.filter(subject=subject).select_related("signed_by").first()


def valid_signature(subject: Subject, screening: Screening) -> EligibilitySignature | None:
    """The active signature that covers exactly the data stored now, if any."""
    signature = EligibilitySignature.objects.filter(subject=subject, voided_at__isnull=True).first()
    if signature is None or signature.data_hash != data_hash(subject, screening):
        return None
    return signature


def sign_eligibility(
    *, subject: Subject, by, password: str, expected_hash: str, request=None
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
    """
    require(by, Action.SIGN, subject.site_id)
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
    reauthenticate(by, password, request)  # outside the transaction: failures count
    with transaction.atomic(), audit_context(user=by, reason="Eligibility e-signature"):
        lock_audit_chain()  # corrections take it too: the data cannot change until commit
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
        active = EligibilitySignature.objects.filter(subject=subject, voided_at__isnull=True)
        existing = active.filter(data_hash=signed_hash).first()
        if existing is not None:  # this data is signed already: one signature, not two
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
            {"code": r.code, "kind": r.kind.value, "status": r.status.value, "reason": r.reason}
            for r in verdict.results
        ],
    }


def assert_enrolable(subject: Subject, *, on_date: dt.date, c1d1: dt.date | None) -> dt.date:
    """Raise unless a valid signature covers an eligible verdict; return the C1D1 to use."""
    screening = get_screening(subject)
    if screening.pk is None:
        raise ValidationError({"status": _("Enter the screening data first.")})
    verdict = evaluate(subject, screening, enrolment_date=on_date)
    if not verdict.eligible:
        codes = ", ".join(r.code for r in verdict.failing + verdict.missing)
        raise ValidationError({"status": _("The subject is not eligible (%s).") % codes})
    if valid_signature(subject, screening) is None:
        raise ValidationError(
            {"status": _("An investigator must sign the eligibility verdict first.")}
        )
    planned = screening.planned_c1d1
    if c1d1 is not None and c1d1 != planned:
        raise ValidationError(
            {
                "c1d1": _(
                    "C1D1 must be the planned date signed for (%(d)s). To move it, change the "
                    "planned C1D1 in the screening form; the investigator then signs again."
                )
                % {"d": planned}
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


def screening_log(user, sites):
    """Every screened subject with outcome and reason; CONSORT-style counts per site."""
    subjects = scope(Subject.objects.filter(site__in=sites), user).select_related("site")
    # The reason screening ended without enrolment: screen failure, withdrawal or death.
    failures = dict(
        StatusChange.objects.filter(
            subject__in=subjects,
            from_status=S.SCREENING,
            to_status__in=[S.SCREEN_FAILED, S.WITHDRAWN, S.DIED],
        ).values_list("subject_id", "reason")
    )
    counts = list(
        subjects.values("site__code")
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
    rows = [
        (s, failures.get(s.pk, "")) for s in subjects.order_by("site__code", "screening_number")
    ]
    return rows, counts


def can_sign(user, subject: Subject) -> bool:
    return get_access(user).can(Action.SIGN, subject.site_id)
