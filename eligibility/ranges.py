"""The one write path of the laboratory reference ranges, and their selectors.

A range decides eligibility verdicts (I08, E09) and CTCAE lab grades from its first to its
last day in force. Data managers create, correct and supersede ranges here, always with a
reason for change (audited by the database triggers) and, for a saved range, the version it
was read at. Rules, each a ``ValidationError`` with a code:

* ``overlap``: two ranges of one site, analyte and sex are never in force on the same day
  (a sex-neutral range and a sex-specific one may be: the specific one wins for that sex);
* ``limits_required``: a range gives an LLN, a ULN or both; ``lln_not_below_uln``;
* ``unit_not_for_analyte`` (``eligibility.units``); ``ends_before_start``;
* ``supersede_not_after_start`` / ``supersede_after_end``: a new range supersedes an old one
  from a day after the old one started, on or before its last day;
* ``required`` (reason); a stale version is an ``EditConflict`` (409).

A change that alters the range in force on a subject's laboratory date voids the active
eligibility signatures of that site's subjects still in screening (as a corrected screening
does); an enrolled subject's signature is never touched.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.access import Action, require, scope, sites_for
from audit.context import audit_context, lock_audit_chain
from audit.models import AuditEvent
from audit.versioning import EditConflict, require_reason, save_versioned
from eligibility import services
from eligibility.models import ReferenceRange
from subjects.lifecycle import SubjectStatus as S
from subjects.models import Subject

CORRECTABLE = ("unit", "lln", "uln", "sex", "valid_from", "valid_to")
"""What a correction may change; a range entered for the wrong site or analyte is ended."""

TABLE = ReferenceRange._meta.db_table


# --- selectors ----------------------------------------------------------------------------------


def ranges_for_user(user, *, site=None, analyte: str = ""):
    """The ranges of the sites where ``user`` may read them, optionally one site / analyte."""
    ranges = ReferenceRange.objects.filter(site__in=sites_for(user, Action.VIEW_RANGES))
    if site is not None:
        ranges = ranges.filter(site=site)
    if analyte:
        ranges = ranges.filter(analyte=analyte)
    return scope(ranges.select_related("site"), user)


def trail(reference_range: ReferenceRange):
    """The audit events of one range, newest first (who, when, old -> new, reason)."""
    return AuditEvent.objects.filter(table_name=TABLE, record_pk=str(reference_range.pk)).order_by(
        "-chain_seq"
    )


# --- validation ---------------------------------------------------------------------------------


def validate(candidate: ReferenceRange) -> None:
    """Every rule a range must meet before it is saved (the caller holds the chain lock)."""
    errors: dict[str, list[ValidationError]] = {}

    def refuse(field: str, message: str, code: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    try:  # types, choices, the unit of the analyte; the values are typed from here on
        candidate.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, field_errors in exc.error_dict.items():
            errors.setdefault(field, []).extend(field_errors)
    lln, uln = candidate.lln, candidate.uln
    if "lln" not in errors and "uln" not in errors:
        if lln is None and uln is None:
            refuse("uln", _("Enter the LLN, the ULN or both."), "limits_required")
        elif lln is not None and uln is not None and lln >= uln:
            refuse("uln", _("The LLN must be below the ULN."), "lln_not_below_uln")
    start, end = candidate.valid_from, candidate.valid_to
    if "valid_from" not in errors and "valid_to" not in errors and end and end < start:
        refuse("valid_to", _("The range cannot end before it starts."), "ends_before_start")
    if not errors:
        other = overlapping(candidate).first()
        if other is not None:
            refuse("valid_from", _overlap_message(other), "overlap")
    if errors:
        raise ValidationError(errors)
    candidate.validate_constraints()  # the database's own constraints, checked before it is


def _overlap_message(other: ReferenceRange) -> str:
    return _(
        "%(site)s already has a range for %(analyte)s (%(sex)s) in force from %(start)s to "
        "%(end)s: correct or end that range first, or supersede it."
    ) % {
        "site": other.site.code,
        "analyte": other.get_analyte_display(),
        "sex": other.get_sex_display() or _("both sexes"),
        "start": other.valid_from.isoformat(),
        "end": other.valid_to.isoformat() if other.valid_to else _("no end date"),
    }


def overlapping(candidate: ReferenceRange):
    """Other ranges of the same site, analyte and sex in force on a day ``candidate`` is."""
    others = ReferenceRange.objects.filter(
        site_id=candidate.site_id, analyte=candidate.analyte, sex=candidate.sex
    ).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=candidate.valid_from))
    if candidate.valid_to is not None:
        others = others.filter(valid_from__lte=candidate.valid_to)
    if candidate.pk is not None:
        others = others.exclude(pk=candidate.pk)
    return others.select_related("site").order_by("valid_from")


# --- writes -------------------------------------------------------------------------------------


def create_range(
    *,
    site,
    analyte: str,
    unit: str,
    lln,
    uln,
    sex: str = "",
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    by,
    reason: str,
) -> ReferenceRange:
    """Add a site laboratory's range for one analyte (a reason is required)."""
    require(by, Action.MANAGE, site.pk)
    reason = _require_reason(reason)
    candidate = ReferenceRange(
        site=site,
        analyte=analyte,
        unit=unit,
        lln=lln,
        uln=uln,
        sex=sex or "",
        valid_from=valid_from,
        valid_to=valid_to,
    )
    with transaction.atomic():
        lock_audit_chain()  # serialises range writes: the overlap check below stays true
        validate(candidate)
        with audit_context(user=by, reason=reason):
            candidate.save()
        _void_stale_signatures(site.pk, by=by, why=_describe(candidate))
    return candidate


def correct_range(
    *, reference_range: ReferenceRange, expected_version: int, changes: dict, by, reason: str
) -> ReferenceRange:
    """Correct a range (limits, unit, sex, dates; reason and version); end it by ``valid_to``."""
    require(by, Action.MANAGE, reference_range.site_id)
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        raise ValidationError(
            _("These fields cannot be corrected: %s") % ", ".join(unknown), code="not_correctable"
        )
    reason = _require_reason(reason)
    with transaction.atomic():
        current = _locked(reference_range, expected_version, changes)
        candidate = ReferenceRange.objects.select_related("site").get(pk=current.pk)
        for name, value in changes.items():
            setattr(candidate, name, value)
        validate(candidate)
        saved = save_versioned(
            current, expected_version=expected_version, changes=changes, by=by, reason=reason
        )
        _void_stale_signatures(saved.site_id, by=by, why=_describe(saved))
    return saved


def supersede_range(
    *,
    reference_range: ReferenceRange,
    expected_version: int,
    valid_from: dt.date,
    unit: str,
    lln,
    uln,
    by,
    reason: str,
) -> ReferenceRange:
    """A new range replaces ``reference_range`` from ``valid_from``: the old one ends the day
    before; the new one keeps its site, analyte, sex and end date. Returns the new range."""
    require(by, Action.MANAGE, reference_range.site_id)
    reason = _require_reason(reason)
    with transaction.atomic():
        submitted = {"valid_from": valid_from, "unit": unit, "lln": lln, "uln": uln}
        old = _locked(reference_range, expected_version, submitted)
        if valid_from <= old.valid_from:
            raise ValidationError(
                {
                    "valid_from": ValidationError(
                        _("The new range must start after the one it supersedes (%(d)s).")
                        % {"d": old.valid_from.isoformat()},
                        code="supersede_not_after_start",
                    )
                }
            )
        if old.valid_to is not None and valid_from > old.valid_to:
            raise ValidationError(
                {
                    "valid_from": ValidationError(
                        _("The range it would supersede ended on %(d)s: add a new range instead.")
                        % {"d": old.valid_to.isoformat()},
                        code="supersede_after_end",
                    )
                }
            )
        new = ReferenceRange(
            site_id=old.site_id,
            analyte=old.analyte,
            sex=old.sex,
            unit=unit,
            lln=lln,
            uln=uln,
            valid_from=valid_from,
            valid_to=old.valid_to,
        )
        ended = valid_from - dt.timedelta(days=1)
        save_versioned(
            old,
            expected_version=expected_version,
            changes={"valid_to": ended},
            by=by,
            reason=reason,
        )
        validate(new)
        with audit_context(user=by, reason=reason):
            new.save()
        _void_stale_signatures(old.site_id, by=by, why=_describe(new))
    return new


def _require_reason(reason: str) -> str:
    """The reason for change (``audit.versioning.require_reason``), refused with a code."""
    try:
        return require_reason(reason)
    except ValidationError as exc:
        code = "reason_too_long" if (reason or "").strip() else "required"
        message = exc.message_dict["reason"][0]
        raise ValidationError({"reason": ValidationError(message, code=code)}) from exc


def _locked(reference_range, expected_version: int, submitted: dict) -> ReferenceRange:
    """The stored row, locked; a version other than the one the form was opened at is 409."""
    lock_audit_chain()  # before the row lock: one lock order for every writer
    current = ReferenceRange.objects.select_for_update().get(pk=reference_range.pk)
    if current.version != expected_version:
        raise EditConflict(current=current, submitted=submitted, expected_version=expected_version)
    return current


def _describe(reference_range: ReferenceRange) -> str:
    """The void reason's detail, stored in English like the rest of it."""
    return f"reference range {reference_range.analyte} from {reference_range.valid_from}"


def _void_stale_signatures(site_id: int, *, by, why: str) -> None:
    """Void the signatures a range change left out of date (subjects still in screening)."""
    subjects = Subject.objects.filter(
        site_id=site_id, status=S.SCREENING, signatures__voided_at__isnull=True
    ).distinct()
    for subject in subjects.select_related("site"):
        services.void_stale_signatures(subject, by=by, why=why)
