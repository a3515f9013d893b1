"""The edit checks of the visit CRFs, declared for ``alter_s006.edit_checks``; ids are stored,
never rename one.

* ``crfs.grade_without_ae``: a CTCAE grade of a visit CRF without an AE covering its date
  (``crfs.services.sync_grade_queries``).
* ``crfs.incomplete.<form>``: a CRF a held visit requires, still not complete more than
  ``P.CRF_QUERY_AFTER_DAYS`` days after the visit date (issue 14 section 2 [default 7]). One
  query per (visit, form): the query is on the visit (``subjects.visit``), its field the form
  key, and one open system query per record and check is the rule of ``queries`` — hence one
  check per form of the schedule of assessments. Raised by the periodic ``sync_edit_checks``
  (the site's today), closed by it or by the CRF's save (``crfs.services.save_crf``).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from alter_s006 import protocol as P
from alter_s006.edit_checks import EditCheck

GRADE_WITHOUT_AE = EditCheck(
    id="crfs.grade_without_ae",
    models=("crfs.vitalsigns", "crfs.ecg", "crfs.urinalysis"),  # the CRFs that grade
    fields=("assessed_on",),
    title=_("Graded visit CRF value without an AE"),
    message=_(
        "CTCAE %(version)s %(grades)s and no adverse event of that term covers the date. "
        "Please record the adverse event or explain."
    ),
)

INCOMPLETE_PREFIX = "crfs.incomplete."


def _incomplete(form: str) -> EditCheck:
    return EditCheck(
        id=INCOMPLETE_PREFIX + form,
        models=("subjects.visit",),
        fields=(form,),
        title=_("CRF incomplete after the visit"),
        message=_(
            "The CRF “%(form)s” of visit %(visit)s (held on %(date)s) is still not complete "
            "%(days)s days after the visit. Please complete it."
        ),
        source="issue 14 §2 [default]",
    )


FORMS = tuple(
    dict.fromkeys(form for rows in P.SCHEDULE_OF_ASSESSMENTS.values() for form, _n in rows)
)
INCOMPLETE = {form: _incomplete(form) for form in FORMS}

CHECKS = (GRADE_WITHOUT_AE, *INCOMPLETE.values())
