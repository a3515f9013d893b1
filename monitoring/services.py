"""The one way in for freeze / lock, source-data verification and visit / casebook
signatures (issue 14 §3–§5). Pages and the API call these; the database triggers
(``monitoring/triggers.py``) enforce the same rules for every other path.

Every write runs in one transaction inside ``audit_context`` (who, why), so the hold, the
SDV mark or the signature is on the subject's audit chain with its reason.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import Action, get_access, require
from accounts.signatures import content_hash, printed_name, reauthenticate
from alter_s006 import protocol as P
from alter_s006.sql import id_array
from audit.context import audit_context
from audit.triggers import chain_path
from audit.versioning import require_reason
from monitoring import rules
from monitoring.models import Hold, Level, SdvMark, Signature
from monitoring.triggers import _parent_fk, _visit_fk, guarded_models
from subjects.models import Subject, Visit

OPEN_QUERY_STATES = ("open", "answered")


# --- records ------------------------------------------------------------------------------


def data_models() -> dict[str, type]:
    """Model label -> model, for every table the guard treats as clinical data."""
    return {m._meta.label_lower: m for m, mode in guarded_models() if mode == "data"}


def model_of(label: str):
    model = data_models().get(label)
    if model is None:
        raise ValidationError(
            {"record_type": ValidationError(_("No such form."), code="invalid_record_type")}
        )
    return model


def get_record(label: str, record_id) -> object:
    model = model_of(label)
    try:
        return model.objects.get(pk=int(record_id))
    except (model.DoesNotExist, TypeError, ValueError) as exc:
        raise ValidationError(
            {"record_id": ValidationError(_("No such record."), code="invalid_record")}
        ) from exc


def subject_id_of(record) -> int:
    path = chain_path(type(record))
    if path[0] == "self":
        return record.pk
    if path[0] == "column":
        return getattr(record, path[1])
    parent = getattr(record, path[1].name)
    return getattr(parent, path[2].attname)


def identity(record) -> tuple[int | None, str | None, int | None]:
    """(visit id, parent form label, parent id) of a record, as ``monitoring_identity``."""
    model = type(record)
    if model is Visit:
        visit = record.pk
    else:
        fk = _visit_fk(model)
        visit = getattr(record, fk.attname) if fk is not None else None
    parent = _parent_fk(model)
    if parent is None:
        return visit, None, None
    parent_id = getattr(record, parent.attname)
    if visit is None and (pfk := _visit_fk(parent.related_model)) is not None:
        visit = (
            parent.related_model.objects.filter(pk=parent_id)
            .values_list(pfk.attname, flat=True)
            .first()
        )
    return visit, parent.related_model._meta.label_lower, parent_id


# --- holds --------------------------------------------------------------------------------


def _holds_query(subject_id, visit_id=None, label=None, record_id=None, parent=(None, None)):
    q = Q(level=Level.STUDY)
    if subject_id:
        q |= Q(level=Level.SUBJECT, subject_id=subject_id)
    if visit_id:
        q |= Q(level=Level.VISIT, visit_id=visit_id)
    if label and record_id:
        q |= Q(level=Level.RECORD, record_type=label, record_id=record_id)
    if parent[0] and parent[1]:
        q |= Q(level=Level.RECORD, record_type=parent[0], record_id=parent[1])
    return Hold.objects.filter(q, lifted_at__isnull=True)


def holds_on_record(record) -> list[Hold]:
    visit, plabel, pid = identity(record)
    label = type(record)._meta.label_lower
    return list(
        _holds_query(subject_id_of(record), visit, label, record.pk, (plabel, pid)).order_by(
            "-kind", "id"
        )
    )


def holds_on(*, subject=None, visit=None) -> list[Hold]:
    return list(
        _holds_query(getattr(subject, "pk", None), getattr(visit, "pk", None)).order_by(
            "-kind", "id"
        )
    )


def flags(holds) -> dict:
    """{"frozen": the freeze in force or None, "locked": the lock in force or None}."""
    out = {"frozen": None, "locked": None}
    for hold in holds:
        key = "locked" if hold.kind == Hold.Kind.LOCK else "frozen"
        out[key] = out[key] or hold
    return out


def _refuse(op: rules.Op, holds) -> None:
    f = flags(holds)
    why = rules.refusal(op, frozen=f["frozen"] is not None, locked=f["locked"] is not None)
    if why is None:
        return
    hold = f["locked"] or f["frozen"]
    messages = {
        rules.Refusal.LOCKED: _("Locked: nothing can change (%(reason)s)."),
        rules.Refusal.FROZEN: _("Frozen: the data cannot change (%(reason)s)."),
        rules.Refusal.ALREADY_FROZEN: _("Already frozen (%(reason)s)."),
        rules.Refusal.ALREADY_LOCKED: _("Already locked (%(reason)s)."),
    }
    raise ValidationError(messages[why] % {"reason": hold.reason if hold else ""}, code=str(why))


def _target(level, subject, visit, record):
    """(subject, visit, record label, record id, holds on the target and above it)."""
    if level == Level.STUDY:
        return None, None, "", None, list(Hold.objects.filter(level=Level.STUDY, lifted_at=None))
    if level == Level.SUBJECT:
        return subject, None, "", None, holds_on(subject=subject)
    if level == Level.VISIT:
        return subject, visit, "", None, holds_on(subject=subject, visit=visit)
    vis, _p, _i = identity(record)
    return subject, vis, type(record)._meta.label_lower, record.pk, holds_on_record(record)


def _require_level(by, action, level, subject):
    if level == Level.STUDY:
        if not get_access(by).all_sites:
            raise PermissionDenied(_("Only a data manager of the whole study may do this."))
        return
    require(by, action, subject.site_id)


def place_hold(*, by, kind: str, level: str, reason: str, subject=None, visit=None, record=None):
    """Freeze or lock the study, a subject, a visit or one form (``record``)."""
    if kind not in Hold.Kind.values:
        raise ValidationError({"kind": ValidationError(_("Freeze or lock."), code="invalid")})
    if level not in Level.values:
        raise ValidationError({"level": ValidationError(_("No such level."), code="invalid")})
    action = Action.FREEZE if kind == Hold.Kind.FREEZE else Action.LOCK
    _require_level(by, action, level, subject)
    reason = require_reason(reason)
    subject, visit_id, label, record_id, holds = _target(level, subject, visit, record)
    _refuse(rules.Op.FREEZE if kind == Hold.Kind.FREEZE else rules.Op.LOCK, holds)
    if level == Level.VISIT:
        visit_id = visit.pk
    try:
        with transaction.atomic(), audit_context(user=by, reason=reason, subject=subject):
            return Hold.objects.create(
                kind=kind,
                level=level,
                subject=subject,
                visit_id=visit_id if level in (Level.VISIT, Level.RECORD) else None,
                record_type=label,
                record_id=record_id,
                reason=reason,
                placed_by=by,
            )
    except IntegrityError as exc:
        raise ValidationError(_("This is already held."), code="already_held") from exc


def signatures_covering(hold: Hold):
    """The active signatures whose data a lifted ``hold`` lets change again."""
    active = Signature.objects.filter(voided_at__isnull=True)
    if hold.level == Level.STUDY:
        return active
    active = active.filter(subject_id=hold.subject_id)
    if hold.level == Level.SUBJECT:
        return active
    casebook = Q(level=Signature.Level.CASEBOOK)
    if hold.level == Level.VISIT:
        return active.filter(casebook | Q(visit_id=hold.visit_id))
    own = Q(level=Signature.Level.CRF, record_type=hold.record_type, record_id=hold.record_id)
    visit = Q(level=Signature.Level.VISIT, visit_id=hold.visit_id) if hold.visit_id else Q()
    return active.filter(casebook | own | visit) if hold.visit_id else active.filter(casebook | own)


def lift_hold(*, by, hold: Hold, reason: str, confirm: bool = False) -> list[Signature]:
    """Unfreeze or unlock; an unlock voids the signatures over what it opens, once confirmed
    (``confirm_void`` error listing them otherwise). Returns the voided signatures."""
    action = Action.UNFREEZE if hold.kind == Hold.Kind.FREEZE else Action.UNLOCK
    _require_level(by, action, hold.level, hold.subject)
    reason = require_reason(reason)
    if hold.lifted_at is not None:
        raise ValidationError(_("This was already lifted."), code="not_active")
    voided = list(signatures_covering(hold)) if hold.kind == Hold.Kind.LOCK else []
    if voided and not confirm:
        raise ValidationError(
            _("Unlocking voids %(n)s signature(s): confirm to go on."),
            code="confirm_void",
            params={"n": len(voided)},
        )
    with transaction.atomic(), audit_context(user=by, reason=reason, subject=hold.subject):
        done = Hold.objects.filter(pk=hold.pk, lifted_at__isnull=True).update(
            lifted_at=Now(),
            lifted_by=by,
            lift_reason=reason,
            version=F("version") + 1,
            updated_at=Now(),
        )
        if not done:
            raise ValidationError(_("This was already lifted."), code="not_active")
        Signature.objects.filter(pk__in=[s.pk for s in voided], voided_at__isnull=True).update(
            voided_at=Now(),
            void_reason=_("Unlocked: %(reason)s") % {"reason": reason},
            version=F("version") + 1,
            updated_at=Now(),
        )
    return voided


# --- source-data verification -------------------------------------------------------------


def critical_fields(label: str) -> tuple[str, ...]:
    return tuple(P.SDV_CRITICAL_FIELDS.get(label, ()))


def _check_fields(label, model, fields):
    names = {f.name for f in model._meta.concrete_fields}
    for name in fields:
        if name and name not in names:
            raise ValidationError(
                {"field": ValidationError(_("No such field on this form."), code="invalid_field")}
            )


def verify(*, by, record, fields=None) -> list[SdvMark]:
    """Mark the form (``""``) and/or fields of ``record`` verified. ``fields=None``: verify
    all on this form (the form and its critical fields)."""
    model = type(record)
    label = model._meta.label_lower
    subject = Subject.objects.select_related("site").get(pk=subject_id_of(record))
    require(by, Action.SDV, subject.site_id)
    fields = ["", *critical_fields(label)] if fields is None else list(dict.fromkeys(fields))
    _check_fields(label, model, fields)
    _refuse(rules.Op.VERIFY, holds_on_record(record))
    visit_id, _p, _i = identity(record)
    now = timezone.now()
    marks = []
    with (
        transaction.atomic(),
        audit_context(user=by, reason=_("Source-data verification"), subject=subject),
    ):
        for name in fields:
            mark, created = SdvMark.objects.get_or_create(
                record_type=label,
                record_id=record.pk,
                field=name,
                defaults={
                    "subject": subject,
                    "visit_id": visit_id,
                    "state": SdvMark.State.VERIFIED,
                    "verified_by": by,
                    "verified_at": now,
                },
            )
            if not created and mark.state != SdvMark.State.VERIFIED:
                SdvMark.objects.filter(pk=mark.pk).update(
                    state=SdvMark.State.VERIFIED,
                    verified_by=by,
                    verified_at=now,
                    changed_at=None,
                    comment="",
                    visit_id=visit_id,
                    version=F("version") + 1,
                    updated_at=Now(),
                )
            marks.append(mark)
    return marks


def unverify(*, by, record, field: str = "", comment: str) -> SdvMark:
    """Remove a verification; a comment is required."""
    model = type(record)
    label = model._meta.label_lower
    subject = Subject.objects.get(pk=subject_id_of(record))
    require(by, Action.SDV, subject.site_id)
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError(
            {"comment": ValidationError(_("Say why the verification is removed."), code="required")}
        )
    _refuse(rules.Op.VERIFY, holds_on_record(record))
    with transaction.atomic(), audit_context(user=by, reason=comment, subject=subject):
        done = (
            SdvMark.objects.filter(record_type=label, record_id=record.pk, field=field or "")
            .exclude(state=SdvMark.State.UNVERIFIED)
            .update(
                state=SdvMark.State.UNVERIFIED,
                comment=comment,
                version=F("version") + 1,
                updated_at=Now(),
            )
        )
        if not done:
            raise ValidationError(
                {"field": ValidationError(_("This is not verified."), code="not_verified")}
            )
    return SdvMark.objects.get(record_type=label, record_id=record.pk, field=field or "")


def sdv_state_of(label: str, marks: list[SdvMark]) -> str:
    form = next((m.state for m in marks if m.field == ""), None)
    items = {m.field: m.state for m in marks if m.field}
    form = None if form == SdvMark.State.UNVERIFIED else form
    items = {k: v for k, v in items.items() if v != SdvMark.State.UNVERIFIED}
    return rules.form_sdv_state(form, items, critical_fields(label))


def sdv_states(label: str, ids) -> dict[int, str]:
    """record id -> SDV state, for records of one CRF type (one query)."""
    by_id: dict[int, list] = {}
    for mark in SdvMark.objects.filter(record_type=label, record_id__in=list(ids)):
        by_id.setdefault(mark.record_id, []).append(mark)
    return {rid: sdv_state_of(label, marks) for rid, marks in by_id.items()}


# --- signatures ---------------------------------------------------------------------------


def rows_of_visits(visits) -> dict[int, list[tuple[str, int, int]]]:
    """visit id -> (form, record id, version) of the visit row and every record tied to it:
    what a visit signature is bound to. One query per table however many visits (bulk
    signing hashes a page of them)."""
    visits = list(visits)
    rows = {v.pk: [("subjects.visit", v.pk, v.version)] for v in visits}
    if not visits:
        return rows
    ids = id_array(rows)
    for label, model in sorted(data_models().items()):
        fk = _visit_fk(model)
        if fk is None or model is Visit:
            continue
        version = "version" if hasattr(model, "version") else "pk"
        found = model.objects.filter(**{f"{fk.attname}__in": ids}).order_by("pk")
        for visit_id, pk, v in found.values_list(fk.attname, "pk", version):
            rows[visit_id].append((label, pk, v))
    return rows


def _rows_of_visit(visit: Visit) -> list[tuple[str, int, int]]:
    return rows_of_visits([visit])[visit.pk]


def _rows_of_subject(subject: Subject) -> list[tuple[str, int, int]]:
    rows = []
    for label, model in sorted(data_models().items()):
        path = chain_path(model)
        if path[0] == "self":
            lookup = {"pk": subject.pk}
        elif path[0] == "column":
            lookup = {path[1]: subject.pk}
        else:
            lookup = {f"{path[1].name}__{path[2].name}": subject.pk}
        version = "version" if hasattr(model, "version") else "pk"
        for pk, v in model.objects.filter(**lookup).values_list("pk", version):
            rows.append((label, pk, v))
    return rows


def signed_content(level: str, *, subject, visit=None, record=None) -> list:
    if level == Signature.Level.CASEBOOK:
        return _rows_of_subject(subject)
    if level == Signature.Level.VISIT:
        return _rows_of_visit(visit)
    return [(type(record)._meta.label_lower, record.pk, getattr(record, "version", 0))]


def attestation(level: str) -> str:
    """The meaning of the signature, shown before and stored with it (21 CFR 11.50)."""
    texts = {
        Signature.Level.CASEBOOK: _(
            "I have reviewed this subject's casebook and attest that the data are complete, "
            "accurate and attributable to the source documents."
        ),
        Signature.Level.VISIT: _(
            "I have reviewed the case report forms of this visit and attest that they are "
            "complete and accurate."
        ),
        Signature.Level.CRF: _("I have reviewed this form and attest that it is accurate."),
    }
    return texts[level]


def signed_visits(level: str, *, subject, visit=None) -> list[Visit]:
    """The visits a signature covers: the visit, or every held (dated or missed) visit of
    the casebook, in time order; none for a form signed on its own."""
    if level == Signature.Level.VISIT:
        return [visit]
    if level == Signature.Level.CASEBOOK:
        held = Visit.objects.filter(subject=subject).order_by("target_date", "id")
        return [v for v in held if v.actual_date or v.missed]
    return []


def incomplete_forms(level: str, *, subject, visit=None, visits=None) -> list[str]:
    """Required forms still incomplete in what would be signed (signing refused): the
    schedule's completeness rule (``crfs.soa.visit_completeness``), in a fixed number of
    queries however many visits."""
    from crfs.registry import FORMS
    from crfs.services import completeness_of

    if visits is None:
        visits = signed_visits(level, subject=subject, visit=visit)
    completeness = completeness_of(visits)
    return [
        f"{v.code} · {FORMS[key].label}"
        for v in visits
        for key in (*completeness[v.pk].missing, *completeness[v.pk].incomplete)
    ]


def signing_sheet(level: str, *, subject, visit=None, record=None) -> dict:
    """What a signature would sign, for the page and the API: the meaning, the hash of the
    records as they are now (sent back to sign), how many, and what is still incomplete."""
    content = signed_content(level, subject=subject, visit=visit, record=record)
    visits = signed_visits(level, subject=subject, visit=visit)
    return {
        "level": level,
        "attestation": attestation(level),
        "content_hash": content_hash(content),
        "records": len(content),
        "visits": visits,
        "incomplete": incomplete_forms(level, subject=subject, visits=visits),
    }


def sign(
    *,
    by,
    level: str,
    password: str,
    request,
    shown_hash: str,
    subject,
    visit=None,
    record=None,
) -> Signature:
    """E-sign a form, a visit or the casebook: password again, nothing incomplete, and the
    data as shown (their hash) still the data stored."""
    if level not in Signature.Level.values:
        raise ValidationError({"level": ValidationError(_("No such level."), code="invalid")})
    require(by, Action.SIGN, subject.site_id)
    reauthenticate(by, password, request)  # outside the transaction: failures count
    missing = incomplete_forms(level, subject=subject, visit=visit)
    if missing:
        raise ValidationError(
            _("Not signed: required forms are incomplete: %(forms)s.")
            % {"forms": "; ".join(missing)},
            code="incomplete",
        )
    with transaction.atomic(), audit_context(user=by, reason=attestation(level), subject=subject):
        if record is not None:
            _refuse(rules.Op.SIGN, holds_on_record(record))
        else:
            _refuse(rules.Op.SIGN, holds_on(subject=subject, visit=visit))
        content = signed_content(level, subject=subject, visit=visit, record=record)
        digest = content_hash(content)
        if shown_hash != digest:
            raise ValidationError(
                _("The data changed since the page was opened; review them again."),
                code="stale",
            )
        visit_id = visit.pk if visit is not None else None
        if record is not None:
            visit_id = identity(record)[0]
        return Signature.objects.create(
            level=level,
            subject=subject,
            visit_id=visit_id,
            record_type=type(record)._meta.label_lower if record is not None else "",
            record_id=record.pk if record is not None else None,
            signed_by=by,
            printed_name=printed_name(by),
            meaning=attestation(level),
            content_hash=digest,
        )
