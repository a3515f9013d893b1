"""The SAE workflow: the initial report and its notices, preparation, the investigator's
e-signed submission, follow-ups.

Notices to the site's investigators are queued with the user only (no address): the outbox
reads the address from the user's record when it sends them (``outbox.services``)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import Action, require
from accounts.models import Membership, Role
from accounts.signatures import content_hash, printed_name, reauthenticate
from alter_s006 import protocol as P
from audit.context import audit_context, lock_audit_chain
from audit.versioning import EditConflict
from outbox.services import notify
from safety import adverse_events as rules
from safety.models import (
    AdverseEvent,
    SaeReport,
)
from subjects.models import Subject


def aware(moment: dt.datetime | None, subject: Subject) -> dt.datetime | None:
    """A date-time entered without a zone is the site's local time."""
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment, subject.site.tz)
    return moment


SAE_CRITERIA_LABELS = {  # in English: the notices read the same for every recipient
    "sae_death": "results in death",
    "sae_life_threatening": "life-threatening",
    "sae_hospitalisation": "requires or prolongs hospitalisation",
    "sae_disability": "persistent or significant disability",
    "sae_congenital_anomaly": "congenital anomaly / birth defect",
    "sae_important_medical_event": "important medical event",
}


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _notify_sae(report: SaeReport) -> None:
    ae = report.ae
    subject = ae.subject
    criteria = ", ".join(SAE_CRITERIA_LABELS[name] for name in ae.criteria)
    line = (
        f"{P.TRIAL_ID} SAE {subject}: {ae.display_term}, grade {ae.grade}; initial report due "
        f"{_utc(report.due_at)}"
    )
    body = "\n".join(
        [
            f"A serious adverse event was recorded in {P.TRIAL_ID} at site {subject.site.code}.",
            f"Subject: {subject}",
            f"Event: {ae.display_term} (CTCAE {P.CTCAE_VERSION} grade {ae.grade})",
            f"Onset: {ae.onset_date.isoformat()}",
            f"Seriousness: {criteria}",
            f"Site aware: {_utc(report.aware_at)}",
            f"Initial report due: {_utc(report.due_at)} ({P.SAE_REPORT_HOURS} hours)",
        ]
    )
    common = {
        "kind": "sae_initial",
        "subject_line": line,
        "body": body,
        "related_subject": subject,
    }
    investigators = Membership.objects.filter(
        site_id=subject.site_id, role=Role.INVESTIGATOR, user__is_active=True
    ).select_related("user")
    for membership in investigators:
        notify(
            key=f"sae:{report.pk}:user:{membership.user_id}",
            recipient=membership.user,
            role=Role.INVESTIGATOR,
            **common,
        )
    notify(
        key=f"sae:{report.pk}:sponsor",
        email=P.SPONSOR_SAFETY_EMAIL,
        role="sponsor_safety",
        **common,
    )


def start_sae_workflow(ae: AdverseEvent, *, by=None, aware_at=None) -> SaeReport:
    """Open the initial SAE report, due ``SAE_REPORT_HOURS`` after the site learned of it, and
    queue the notices to the site's investigators and the sponsor's safety contact.

    Idempotent: an AE has one initial report; a second call returns it and sends nothing."""
    existing = ae.sae_reports.filter(kind=SaeReport.Kind.INITIAL).first()
    if existing is not None:
        return existing
    aware_at = aware_at or ae.learned_on
    due_at = rules.sae_report_due(aware_at)
    with (
        transaction.atomic(),
        audit_context(
            user=by,
            reason=f"SAE initial report opened, due {_utc(due_at)}",
            subject=ae.subject_id,
        ),
    ):
        report = SaeReport.objects.create(
            ae=ae, kind=SaeReport.Kind.INITIAL, sequence=0, aware_at=aware_at, due_at=due_at
        )
        _notify_sae(report)
    return report


def report_hash(report: SaeReport, narrative: str | None = None) -> str:
    """SHA-256 of what the investigator signs: the report (its narrative) and the adverse
    event as it stands (term, grade, dates, seriousness, action, outcome, causality)."""
    ae = report.ae
    payload = {
        "report": [report.pk, report.kind, report.sequence, report.aware_at, report.due_at],
        "narrative": (report.narrative if narrative is None else narrative).strip(),
        "ae": {
            "id": ae.pk,
            "term": ae.term_id,
            "verbatim": ae.verbatim,
            "grade": ae.grade,
            "onset": ae.onset_date,
            "end": ae.end_date,
            "ongoing": ae.ongoing,
            "criteria": ae.criteria,
            "action": ae.action_taken,
            "dose_event": ae.dose_event_id,
            "outcome": ae.outcome,
            "relationship": ae.relationship,
            "learned_on": ae.learned_on,
        },
    }
    return content_hash(payload)


def _clean_narrative(narrative: str) -> str:
    narrative = (narrative or "").strip()
    if not narrative:
        raise ValidationError(
            {"narrative": ValidationError(_("Write the narrative of the report."), code="required")}
        )
    try:
        SaeReport._meta.get_field("narrative").clean(narrative, None)
    except ValidationError as exc:
        raise ValidationError({"narrative": exc.error_list}) from exc
    return narrative


def _already_submitted(report: SaeReport) -> ValidationError:
    return ValidationError(
        _("This report was submitted on %(d)s.") % {"d": _utc(report.submitted_at)},
        code="already_submitted",
    )


def save_sae_draft(
    *, report: SaeReport, by, narrative: str, expected_version: int | None = None
) -> SaeReport:
    """Prepare a report (coordinator or investigator): store the narrative, not submitted.

    Submission is the investigator's e-signature (``submit_sae_report``)."""
    require(by, Action.ENTER_DATA, report.ae.subject.site_id)
    narrative = _clean_narrative(narrative)
    with transaction.atomic():
        lock_audit_chain(report.ae.subject_id)
        current = SaeReport.objects.select_for_update().get(pk=report.pk)
        if current.submitted_at is not None:
            raise _already_submitted(current)
        if expected_version is not None and current.version != expected_version:
            raise EditConflict(
                current=current,
                submitted={"narrative": narrative},
                expected_version=expected_version,
            )
        with audit_context(user=by, reason=f"SAE {current.label.lower()} prepared (narrative)"):
            SaeReport.objects.filter(pk=current.pk).update(
                narrative=narrative, version=F("version") + 1, updated_at=Now()
            )
    return SaeReport.objects.select_related("ae__subject__site", "ae__term").get(pk=report.pk)


def submit_sae_report(
    *,
    report: SaeReport,
    by,
    narrative: str,
    password: str,
    expected_hash: str,
    request=None,
) -> SaeReport:
    """Submit a report: the investigator's e-signature (21 CFR 11; PROTOCOL.md "Roles").

    Only an investigator of the subject's site (``PermissionDenied`` otherwise: a coordinator
    prepares the report with ``save_sae_draft``). The password is re-entered through
    ``accounts.signatures.reauthenticate`` (a wrong one counts towards the lockout);
    ``expected_hash`` is ``report_hash`` of the report and event as shown to the signer and
    must still match under the lock (else ``changed_since_shown``). The signature stores the
    printed name, the meaning ``SaeReport.SUBMISSION_MEANING``, the database time and the hash
    of the content signed (with the narrative submitted)."""
    require(by, Action.SIGN, report.ae.subject.site_id)
    narrative = _clean_narrative(narrative)
    if not expected_hash:
        raise ValidationError(
            {
                "data_hash": ValidationError(
                    _("Reload the report: what you sign must be what you were shown."),
                    code="required",
                )
            }
        )
    reauthenticate(by, password, request)  # outside the transaction: failures count
    with transaction.atomic():
        lock_audit_chain(report.ae.subject_id)
        current = (
            SaeReport.objects.select_for_update()
            .select_related("ae__subject__site", "ae__term")
            .get(pk=report.pk)
        )
        if current.submitted_at is not None:
            raise _already_submitted(current)
        if report_hash(current) != expected_hash:
            raise ValidationError(
                {
                    "data_hash": ValidationError(
                        _(
                            "The report or its adverse event changed since you opened it. "
                            "Nothing was signed: read it again, then sign."
                        ),
                        code="changed_since_shown",
                    )
                }
            )
        signed = report_hash(current, narrative)
        signed_at = timezone.now()
        with audit_context(
            user=by, reason=f"SAE {current.label.lower()} submitted: investigator e-signature"
        ):
            SaeReport.objects.filter(pk=current.pk).update(
                submitted_at=signed_at,
                submitted_by=by,
                narrative=narrative,
                signed_by=by,
                signed_printed_name=printed_name(by),
                signed_at=signed_at,
                signed_hash=signed,
                version=F("version") + 1,
                updated_at=Now(),
            )
    return SaeReport.objects.select_related(
        "ae__subject__site", "ae__term", "submitted_by", "signed_by"
    ).get(pk=report.pk)


def add_follow_up(*, ae: AdverseEvent, by, due_at: dt.datetime | None = None) -> SaeReport:
    """Request the next follow-up report of an SAE, due ``due_at`` (default: in
    ``SAE_FOLLOW_UP_HOURS``), once every earlier report is submitted."""
    require(by, Action.ENTER_DATA, ae.subject.site_id)
    now = timezone.now()
    due_at = aware(due_at, ae.subject)
    if due_at is not None and due_at <= now:
        raise ValidationError(
            {
                "due_at": ValidationError(
                    _("The follow-up must be due in the future."), code="not_in_future"
                )
            }
        )
    with transaction.atomic():
        lock_audit_chain(ae.subject_id)
        current = AdverseEvent.objects.select_for_update().get(pk=ae.pk)
        reports = list(current.sae_reports.order_by("sequence"))
        if not current.serious or not reports:
            raise ValidationError(
                _("Only a serious adverse event has SAE reports."), code="not_serious"
            )
        pending = [r for r in reports if r.submitted_at is None]
        if pending:
            raise ValidationError(
                _("Submit the %(r)s first.") % {"r": pending[0].label.lower()},
                code="earlier_report_pending",
            )
        sequence = reports[-1].sequence + 1
        due = due_at or now + dt.timedelta(hours=P.SAE_FOLLOW_UP_HOURS)
        with audit_context(user=by, reason=f"SAE follow-up {sequence} requested"):
            return SaeReport.objects.create(
                ae=current,
                kind=SaeReport.Kind.FOLLOW_UP,
                sequence=sequence,
                aware_at=now,
                due_at=due,
            )
