"""Run the edit checks that look at a whole subject at once: those that time passing makes
fail (a visit window closed with nothing recorded, a CRF still incomplete days after its
visit), compliance, which any dose modification or return can move, and AE onsets before the
consent, which a write outside the services could leave (issue 14 section 2).

``sync_subject_checks`` is what the periodic ``sync_edit_checks`` (management command, and
the Celery beat task ``subjects.tasks.sync_edit_checks``) runs for each active subject; the
writes that make one of these checks pass close its query themselves (``record_visit``,
``save_crf``, ``record_return``, ``add_event``). "Today" is the site's (``Site.today``, in
its time zone).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from audit.context import audit_context
from crfs.services import sync_incomplete_crfs
from dosing.services import sync_compliance_checks
from safety.services.aes import resync_consent
from subjects.lifecycle import SubjectStatus as S
from subjects.models import Subject
from subjects.services import sync_missed_visits

REASON = "Edit check: run on the subject's data"


def sync_subject_checks(subject: Subject, today: dt.date | None = None) -> None:
    """Every whole-subject check of one subject, in one transaction."""
    today = today or subject.site.today()
    with transaction.atomic(), audit_context(reason=REASON, subject=subject):
        visits = list(subject.visits.all())
        sync_missed_visits(subject, visits, today)
        sync_incomplete_crfs(subject, visits, today)
        sync_compliance_checks(subject)
        resync_consent(subject)  # AE onsets before the consent, whatever path wrote them


def checked_subjects():
    """The subjects the periodic run looks at: all but screen failures (their one visit
    expects nothing more); a subject who left the study keeps the visits due before."""
    return Subject.objects.exclude(status=S.SCREEN_FAILED).select_related("site").order_by("pk")


def sync_all() -> int:
    """Run ``sync_subject_checks`` for every checked subject; returns how many."""
    count = 0
    for subject in checked_subjects().iterator():
        sync_subject_checks(subject)
        count += 1
    return count
