"""The SAE workflow: the initial report and its notices, submission, follow-ups."""

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
from alter_s006 import protocol as P
from audit.context import audit_context, lock_audit_chain
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
        audit_context(user=by, reason=f"SAE initial report opened, due {_utc(due_at)}"),
    ):
        report = SaeReport.objects.create(
            ae=ae, kind=SaeReport.Kind.INITIAL, sequence=0, aware_at=aware_at, due_at=due_at
        )
        _notify_sae(report)
    return report


def submit_sae_report(*, report: SaeReport, by, narrative: str) -> SaeReport:
    """Mark a report submitted with its narrative (once)."""
    require(by, Action.ENTER_DATA, report.ae.subject.site_id)
    narrative = (narrative or "").strip()
    if not narrative:
        raise ValidationError({"narrative": _("Write the narrative of the report.")})
    try:
        SaeReport._meta.get_field("narrative").clean(narrative, None)
    except ValidationError as exc:
        raise ValidationError({"narrative": exc.messages}) from exc
    with transaction.atomic():
        lock_audit_chain()
        current = SaeReport.objects.select_for_update().get(pk=report.pk)
        if current.submitted_at is not None:
            raise ValidationError(
                _("This report was submitted on %(d)s.") % {"d": _utc(current.submitted_at)}
            )
        with audit_context(user=by, reason=f"SAE {current.label.lower()} submitted"):
            SaeReport.objects.filter(pk=current.pk).update(
                submitted_at=timezone.now(),
                submitted_by=by,
                narrative=narrative,
                version=F("version") + 1,
                updated_at=Now(),
            )
    return SaeReport.objects.select_related("ae__subject__site", "ae__term").get(pk=report.pk)


def add_follow_up(*, ae: AdverseEvent, by, due_at: dt.datetime | None = None) -> SaeReport:
    """Request the next follow-up report of an SAE, due ``due_at`` (default: in
    ``SAE_FOLLOW_UP_HOURS``), once every earlier report is submitted."""
    require(by, Action.ENTER_DATA, ae.subject.site_id)
    now = timezone.now()
    due_at = aware(due_at, ae.subject)
    if due_at is not None and due_at <= now:
        raise ValidationError({"due_at": _("The follow-up must be due in the future.")})
    with transaction.atomic():
        lock_audit_chain()
        current = AdverseEvent.objects.select_for_update().get(pk=ae.pk)
        reports = list(current.sae_reports.order_by("sequence"))
        if not current.serious or not reports:
            raise ValidationError(_("Only a serious adverse event has SAE reports."))
        pending = [r for r in reports if r.submitted_at is None]
        if pending:
            raise ValidationError(_("Submit the %(r)s first.") % {"r": pending[0].label.lower()})
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
