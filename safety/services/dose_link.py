"""The AE <-> dose modification link, checked both ways by edit-check queries (issue 11 C15).

* An adverse event whose action taken with anlotinib is "interrupted", "reduced" or
  "withdrawn" names the dose modification it caused (``AdverseEvent.dose_event``); without one
  it keeps a system query open on the event, closed once it is linked.
* A dose modification for toxicity (interruption, reduction or permanent discontinuation: the
  kinds an AE's action links to, ``AdverseEvent.ACTION_DOSE_EVENT``) is caused by an adverse
  event; while none links to it, a system query stays open on the dose modification. It is
  raised when the modification is stored (``dosing.services.dose_event_recorded``, connected in
  ``safety.apps``) and closed when an AE links to it (AE create/update re-syncs the old and the
  new dose modification).

* A dose reduction or interruption whose reason is "Other" with no notes saying what, and no
  adverse event linked, has no reason at all: a system query stays open on it until an AE
  links to it (issue 14 section 2). A reason is required on entry (``reason_required``), and a
  toxicity one without its AE is the check above: this closes the last gap.

All run in the caller's transaction and audit context. The checks are declared in
``safety.edit_checks``; the query texts are in English (the audit trail's language).
"""

from __future__ import annotations

from dosing.models import DoseEvent, Reason
from queries.services import close_checks, sync_check
from safety import edit_checks as checks
from safety.models import AdverseEvent

AE_CHECK = checks.AE_WITHOUT_DOSE_EVENT.id
DOSE_CHECK = checks.DOSE_EVENT_WITHOUT_AE.id
REASON_CHECK = checks.DOSE_EVENT_WITHOUT_REASON.id
LINKABLE_KINDS = frozenset(AdverseEvent.ACTION_DOSE_EVENT.values())
NEEDS_REASON_KINDS = frozenset({DoseEvent.Kind.INTERRUPTION, DoseEvent.Kind.REDUCTION})


def ae_needs_dose_event(ae: AdverseEvent) -> bool:
    return ae.action_taken in AdverseEvent.ACTION_DOSE_EVENT and ae.dose_event_id is None


def sync_ae_dose_check(ae: AdverseEvent) -> None:
    """Open (or close) the query of an AE whose action has no linked dose modification."""
    wanted = AdverseEvent.ACTION_DOSE_EVENT.get(ae.action_taken)
    sync_check(
        record=ae,
        subject=ae.subject,
        check=AE_CHECK,
        field=checks.AE_WITHOUT_DOSE_EVENT.field,
        failing=ae_needs_dose_event(ae),
        text=checks.AE_WITHOUT_DOSE_EVENT.text(
            action=ae.get_action_taken_display(), wanted=wanted.label if wanted else ""
        ),
    )


def needs_ae(event: DoseEvent) -> bool:
    """A modification for toxicity, of a kind an AE's action links to: it needs its AE."""
    return event.reason == Reason.TOXICITY and event.kind in LINKABLE_KINDS


def needs_reason(event: DoseEvent) -> bool:
    """A reduction or interruption for "Other" reasons, unexplained in its notes: it needs an
    AE linked (or a reason)."""
    return (
        event.kind in NEEDS_REASON_KINDS
        and event.reason == Reason.OTHER
        and not (event.detail or "").strip()
    )


def sync_dose_event_check(event: DoseEvent) -> None:
    """Open (or close) the queries of a dose modification without its AE or without a reason.

    The link is read only for a modification that needs one; while both checks pass, one
    UPDATE closes both."""
    wants_link = needs_ae(event) or needs_reason(event)
    unlinked = wants_link and not AdverseEvent.objects.filter(dose_event=event).exists()
    failing = (
        (checks.DOSE_EVENT_WITHOUT_AE, unlinked and needs_ae(event)),
        (checks.DOSE_EVENT_WITHOUT_REASON, unlinked and needs_reason(event)),
    )
    if not any(fails for _c, fails in failing):
        close_checks(record=event, checks=[c.id for c, _f in failing])
        return
    params = {"kind": event.get_kind_display(), "start": event.start.isoformat()}
    for definition, fails in failing:
        sync_check(
            record=event,
            subject=event.subject,
            check=definition.id,
            field=definition.field,
            failing=fails,
            text=definition.text(**params) if fails else "",
        )


def sync_links(ae: AdverseEvent, old_dose_event_id: int | None = None) -> None:
    """After an AE is written: its own check, and the checks of the dose modification it
    links to now and of the one it linked to before."""
    sync_ae_dose_check(ae)
    ids = {i for i in (ae.dose_event_id, old_dose_event_id) if i is not None}
    for event in DoseEvent.objects.filter(pk__in=ids).select_related("subject"):
        sync_dose_event_check(event)
