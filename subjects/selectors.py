"""Reads of the subjects app: a subject's audit trail, for the history page and the API alike."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from audit.models import AuditEvent, VersionedModel
from subjects.models import Subject

HISTORY_PAGE_SIZE = 100

# The forms whose audited rows carry the subject (a "subject_id" column, or the subject itself)
HISTORY_TABLES = {
    "subjects_subject": _("Subject"),
    "subjects_visit": _("Visit"),
    "subjects_statuschange": _("Status change"),
    "eligibility_screening": _("Screening"),
    "eligibility_eligibilitysignature": _("Eligibility signature"),
    "safety_adverseevent": _("Adverse event"),
    "safety_labpanel": _("Lab panel"),
    "assessments_targetlesion": _("Lesion"),
    "assessments_timepoint": _("Tumour assessment"),
    "dosing_doseevent": _("Dose modification"),
    "dosing_dispensing": _("Dispensing"),
    "queries_query": _("Query"),
}

HISTORY_KINDS = {
    "created": (AuditEvent.Action.INSERT, _("created")),
    "changed": (AuditEvent.Action.UPDATE, _("changed")),
    "deleted": (AuditEvent.Action.DELETE, _("deleted")),
    "workflow": (AuditEvent.Action.WORKFLOW, _("workflow")),
}

# Columns not worth a line when a row is created: keys and the lock bookkeeping
_UNSHOWN = VersionedModel.BOOKKEEPING | {"id", "subject_id"}
_SCHEDULE_DATES = frozenset({"target_date", "earliest", "latest"})


@dataclass(frozen=True)
class HistoryFilters:
    """What the reader narrowed the trail to; every field empty shows it all."""

    table: str = ""
    user: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    kind: str = ""

    def is_empty(self) -> bool:
        return self == HistoryFilters()


def history_events(subject: Subject, filters: HistoryFilters = HistoryFilters()) -> QuerySet:
    """The subject's audited rows, newest first: its own, and every row that carries its id."""
    events = AuditEvent.objects.filter(
        Q(table_name="subjects_subject", record_pk=str(subject.pk))
        | Q(new_data__subject_id=subject.pk)
        | Q(old_data__subject_id=subject.pk)
    )
    if filters.table:
        events = events.filter(table_name=filters.table)
    if filters.user:
        events = events.filter(app_username=filters.user)
    if filters.kind:
        events = events.filter(action=HISTORY_KINDS[filters.kind][0])
    tz = subject.site.tz  # a day is the site's day, as on every page of the subject
    if filters.since:
        events = events.filter(occurred_at__gte=dt.datetime.combine(filters.since, dt.time(), tz))
    if filters.until:
        end = dt.datetime.combine(filters.until + dt.timedelta(days=1), dt.time(), tz)
        events = events.filter(occurred_at__lt=end)
    return events.order_by("-chain_seq")


def history_users(subject: Subject) -> list[str]:
    """The users who wrote on the subject's trail, for the filter."""
    names = history_events(subject).exclude(app_username="").values_list("app_username", flat=True)
    return sorted(set(names.order_by().distinct()))


def record_label(event: AuditEvent) -> str:
    data = event.new_data or event.old_data or {}
    if event.table_name == "subjects_visit":
        return str(_("Visit %(c)s")) % {"c": data.get("code", "?")}
    return str(HISTORY_TABLES.get(event.table_name, event.table_name))


def entered_values(event: AuditEvent) -> list[tuple[str, object]]:
    """(field, value) of what a created row holds, leaving out keys, bookkeeping and blanks."""
    data = event.new_data or {}
    return [(k, v) for k, v in data.items() if k not in _UNSHOWN and v not in (None, "")]


def _schedule_write(event: AuditEvent) -> bool:
    """Is this a visit the schedule planned, moved or dropped (not one a user recorded)?"""
    if event.table_name != "subjects_visit":
        return False
    if event.action == AuditEvent.Action.INSERT:
        data = event.new_data or {}
        return not data.get("actual_date") and not data.get("missed")
    if event.action == AuditEvent.Action.UPDATE:
        return {field for field, _old, _new in event.changes()} <= _SCHEDULE_DATES
    return event.action == AuditEvent.Action.DELETE


def _same_write(a: AuditEvent, b: AuditEvent) -> bool:
    return (a.action, a.app_username, a.reason) == (b.action, b.app_username, b.reason)


def _summary(action: str, n: int) -> str:
    if action == AuditEvent.Action.INSERT:
        return ngettext("%(n)s visit planned", "%(n)s visits planned", n) % {"n": n}
    if action == AuditEvent.Action.UPDATE:
        return ngettext("%(n)s visit re-planned", "%(n)s visits re-planned", n) % {"n": n}
    return ngettext("%(n)s planned visit removed", "%(n)s planned visits removed", n) % {"n": n}


def _row(event: AuditEvent) -> dict:
    return {
        "event": event,
        "label": record_label(event),
        "changes": event.changes() if event.action == AuditEvent.Action.UPDATE else [],
        "values": entered_values(event) if event.action == AuditEvent.Action.INSERT else [],
    }


def fold_history(events) -> list[dict]:
    """Rows of the page: runs of visits the schedule wrote in one go (53 at enrolment) fold
    into one summary row holding them; every other event is a row of its own."""
    rows: list[dict] = []
    run: list[AuditEvent] = []

    def close_run():
        if len(run) > 1:
            rows.append(
                {
                    "event": run[0],
                    "summary": _summary(run[0].action, len(run)),
                    "folded": [_row(e) for e in run],
                }
            )
        else:
            rows.extend(_row(e) for e in run)
        run.clear()

    for event in events:
        planned = _schedule_write(event)
        if run and not (planned and _same_write(event, run[0])):
            close_run()
        if planned:
            run.append(event)
        else:
            rows.append(_row(event))
    close_run()
    return rows


def row_event_ids(rows: list[dict]) -> list[int]:
    """The ids of the events on the page, folded ones included, in page order."""
    ids = []
    for row in rows:
        ids.extend(r["event"].pk for r in row.get("folded", [row]))
    return ids


# --- the investigator's dashboard: what awaits their signature -------------------------------

AWAITING_SHOWN = 10  # items listed per kind; the count says how many in all


@dataclass(frozen=True)
class AwaitingSignature:
    eligibility: list  # (subject, re-sign?) whose verdict is eligible and not validly signed
    eligibility_count: int
    causality: list  # adverse events without a signed causality
    causality_count: int
    sae_pending: int  # SAE reports not yet submitted
    sae_overdue: int

    @property
    def total(self) -> int:
        return self.eligibility_count + self.causality_count + self.sae_pending


def _eligible_unsigned(sites) -> list[tuple[Subject, bool]]:
    """Subjects in screening whose stored data gives an eligible verdict and who have no
    active signature (never signed, or the signature was voided when the data changed).
    Three queries whatever the number: candidates, their sites' ranges, nothing per row."""
    from eligibility.models import EligibilitySignature
    from eligibility.services import evaluate, ranges_for, site_ranges

    active = EligibilitySignature.objects.filter(subject=OuterRef("pk"), voided_at__isnull=True)
    voided = EligibilitySignature.objects.filter(subject=OuterRef("pk"), voided_at__isnull=False)
    candidates = list(
        Subject.objects.filter(site__in=sites, status="screening", screening__isnull=False)
        .annotate(signed=Exists(active), was_signed=Exists(voided))
        .filter(signed=False)
        .select_related("site", "screening")
        .order_by("site__code", "screening_number")
    )
    by_site = site_ranges({s.site_id for s in candidates})
    found = []
    for subject in candidates:
        ranges = ranges_for(subject, subject.screening, by_site.get(subject.site_id, []))
        if evaluate(subject, subject.screening, ranges=ranges).eligible:
            found.append((subject, subject.was_signed))
    return found


def awaiting_signature(user, sites) -> AwaitingSignature | None:
    """What waits for this investigator at the shown sites where they sign; None if nowhere."""
    from accounts.access import Action, sites_for
    from safety.models import AdverseEvent, SaeReport

    signing = [s for s in sites if s in set(sites_for(user, Action.SIGN))]
    if not signing:
        return None
    eligibility = _eligible_unsigned(signing)
    unsigned = AdverseEvent.objects.filter(
        subject__site__in=signing, causality_signed_by__isnull=True
    )
    sae = SaeReport.objects.filter(
        ae__subject__site__in=signing, submitted_at__isnull=True
    ).aggregate(pending=Count("id"), overdue=Count("id", filter=Q(due_at__lt=timezone.now())))
    causality = list(
        unsigned.select_related("subject", "term").order_by("onset_date", "id")[:AWAITING_SHOWN]
    )
    return AwaitingSignature(
        eligibility=eligibility[:AWAITING_SHOWN],
        eligibility_count=len(eligibility),
        causality=causality,
        causality_count=unsigned.count(),
        sae_pending=sae["pending"],
        sae_overdue=sae["overdue"],
    )
