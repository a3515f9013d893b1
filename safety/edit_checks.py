"""The edit checks of safety: adverse events, their dose modifications and lab values.

Declared here (``alter_s006.edit_checks``), run by ``safety.services`` (and, for the checks
whose data another app writes, by ``safety.apps`` receivers and ``sync_edit_checks``). The
ids are stored on the queries: never rename one.

Not a check: an AE end date before its onset. The AE service refuses it (``end_before_onset``)
and the database refuses it on every write path (constraint ``ae_end_not_before_onset``), so
no stored event can fail it (tests/safety/test_edit_checks.py shows a raw UPDATE refused).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from alter_s006.edit_checks import EditCheck

AE = "safety.adverseevent"
DOSE_EVENT = "dosing.doseevent"

WINDOW = EditCheck(
    id="safety.ae_outside_window",
    models=(AE,),
    fields=("onset_date",),
    title=_("AE onset outside the reporting window"),
    message=_(
        "The onset %(onset)s is outside the AE reporting window (first dose %(start)s to the "
        "last dose + %(days)s days (%(end)s)). Please confirm the onset date or the reason this "
        "event is reported."
    ),
    variants={
        "no_end": _(
            "The onset %(onset)s is outside the AE reporting window (first dose %(start)s to "
            "the last dose + %(days)s days). Please confirm the onset date or the reason this "
            "event is reported."
        ),
        "before_first_dose": _(
            "The onset %(onset)s is before the first dose of anlotinib: adverse events are "
            "reported from the first dose. Please confirm the onset date or the reason this "
            "event is reported."
        ),
    },
    source="PROTOCOL.md “Safety”: AEs from the first dose to the last dose + the follow-up days",
)

BEFORE_CONSENT = EditCheck(
    id="safety.ae_onset_before_consent",
    models=(AE,),
    fields=("onset_date",),
    title=_("AE onset before the informed consent"),
    message=_(
        "The onset %(onset)s is before the subject's informed consent (%(consent)s). Please "
        "correct the onset date, or the consent date if that is the one wrong."
    ),
    source="issue 14 §2; the AE form refuses it (before_consent), a later consent correction "
    "can make a stored event fail it",
)

GRADE_HISTORY = EditCheck(
    id="safety.ae_grade_history_missing",
    models=(AE,),
    fields=("grade",),
    title=_("AE without its grade history"),
    message=_(
        "Inconsistent record: this adverse event has no grade history, not even its grade at "
        "onset, so its worst grade and days at each grade cannot be trusted. It is shown as "
        "grade %(grade)s since %(onset)s meanwhile. Data management: restore the grade history "
        "from the source."
    ),
)

AE_WITHOUT_DOSE_EVENT = EditCheck(
    id="safety.ae_action_without_dose_event",
    models=(AE,),
    fields=("dose_event",),
    title=_("AE action without its dose modification"),
    message=_(
        "The action taken with anlotinib is “%(action)s” but no dose modification "
        "(%(wanted)s) is linked. Please record the dose modification and link it to this "
        "adverse event, or correct the action taken."
    ),
    source="issue 11 C15",
)

DOSE_EVENT_WITHOUT_AE = EditCheck(
    id="safety.toxicity_dose_event_without_ae",
    models=(DOSE_EVENT,),
    fields=("reason",),
    title=_("Dose modification for toxicity without its AE"),
    message=_(
        "%(kind)s from %(start)s is for toxicity but no adverse event is linked to it. Please "
        "record the adverse event (action taken) and link it to this dose modification."
    ),
    source="issue 11 C15",
)

DOSE_EVENT_WITHOUT_REASON = EditCheck(
    id="safety.dose_event_without_reason",
    models=(DOSE_EVENT,),
    fields=("detail",),
    title=_("Dose reduction or interruption without a reason"),
    message=_(
        "%(kind)s from %(start)s gives “Other” as its reason without saying what, and no "
        "adverse event is linked to it. Please link the adverse event that caused it, or "
        "explain the reason."
    ),
    source="PROTOCOL.md “The trial”: interruptions and reductions are recorded with a reason; "
    "issue 14 §2",
)

LAB_WITHOUT_AE = EditCheck(
    id="safety.lab_grade_without_ae",
    models=("safety.labresult",),
    fields=("value",),
    title=_("Graded lab value without an AE"),
    message=_(
        "%(label)s %(value)s %(unit)s on %(date)s is CTCAE %(version)s grade %(grade)s "
        "(%(term)s) and no adverse event of that term covers the date. Please record the "
        "adverse event or explain."
    ),
)

CHECKS = (
    WINDOW,
    BEFORE_CONSENT,
    GRADE_HISTORY,
    AE_WITHOUT_DOSE_EVENT,
    DOSE_EVENT_WITHOUT_AE,
    DOSE_EVENT_WITHOUT_REASON,
    LAB_WITHOUT_AE,
)
