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

Both run in the caller's transaction and audit context. The query texts are in English (the
audit trail's language).
"""

from __future__ import annotations

from dosing.models import DoseEvent, Reason
from queries.services import sync_check
from safety.models import AdverseEvent

AE_CHECK = "safety.ae_action_without_dose_event"
DOSE_CHECK = "safety.toxicity_dose_event_without_ae"
LINKABLE_KINDS = frozenset(AdverseEvent.ACTION_DOSE_EVENT.values())


def ae_needs_dose_event(ae: AdverseEvent) -> bool:
    return ae.action_taken in AdverseEvent.ACTION_DOSE_EVENT and ae.dose_event_id is None


def sync_ae_dose_check(ae: AdverseEvent) -> None:
    """Open (or close) the query of an AE whose action has no linked dose modification."""
    wanted = AdverseEvent.ACTION_DOSE_EVENT.get(ae.action_taken)
    sync_check(
        record=ae,
        subject=ae.subject,
        check=AE_CHECK,
        field="dose_event",
        failing=ae_needs_dose_event(ae),
        text=(
            f"The action taken with anlotinib is “{ae.get_action_taken_display()}” but no dose "
            f"modification ({wanted.label if wanted else ''}) is linked. Please record the dose "
            "modification and link it to this adverse event, or correct the action taken."
        ),
    )


def dose_event_needs_ae(event: DoseEvent) -> bool:
    return (
        event.reason == Reason.TOXICITY
        and event.kind in LINKABLE_KINDS
        and not AdverseEvent.objects.filter(dose_event=event).exists()
    )


def sync_dose_event_check(event: DoseEvent) -> None:
    """Open (or close) the query of a toxicity dose modification no adverse event links to."""
    sync_check(
        record=event,
        subject=event.subject,
        check=DOSE_CHECK,
        field="reason",
        failing=dose_event_needs_ae(event),
        text=(
            f"{event.get_kind_display()} from {event.start.isoformat()} is for toxicity but no "
            "adverse event is linked to it. Please record the adverse event (action taken) and "
            "link it to this dose modification."
        ),
    )


def sync_links(ae: AdverseEvent, old_dose_event_id: int | None = None) -> None:
    """After an AE is written: its own check, and the checks of the dose modification it
    links to now and of the one it linked to before."""
    sync_ae_dose_check(ae)
    ids = {i for i in (ae.dose_event_id, old_dose_event_id) if i is not None}
    for event in DoseEvent.objects.filter(pk__in=ids).select_related("subject"):
        sync_dose_event_check(event)
