"""The edit checks of the visit schedule, declared for ``alter_s006.edit_checks``; ids are
stored, never rename one.

* ``subjects.visit_missed``: a planned visit whose window closed (``latest`` before the site's
  today) with nothing recorded: no date, not marked missed (issue 14 section 2). Raised by
  the periodic ``sync_edit_checks`` (time passing is what makes it fail), closed by it or when
  the visit is recorded (``subjects.services.record_visit``).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from alter_s006.edit_checks import EditCheck

VISIT_MISSED = EditCheck(
    id="subjects.visit_missed",
    models=("subjects.visit",),
    fields=("actual_date",),
    title=_("Visit window closed with nothing recorded"),
    message=_(
        "The window of visit %(visit)s closed on %(latest)s and nothing is recorded. Please "
        "enter the visit date, or mark the visit missed."
    ),
    source="PROTOCOL.md “Schedule”; issue 14 §2",
)

CHECKS = (VISIT_MISSED,)
