"""The edit checks of the tumour assessments (RECIST 1.1 timepoints), run by
``assessments.services``; declared for ``alter_s006.edit_checks``. Ids are stored: never
rename one."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from alter_s006.edit_checks import EditCheck

TIMEPOINT = "assessments.timepoint"

INVESTIGATOR_DISAGREES = EditCheck(
    id="recist.investigator_disagrees",
    models=(TIMEPOINT,),
    fields=("investigator_response",),
    title=_("Investigator's response differs from RECIST"),
    message=_(
        "The investigator's response %(investigator)s differs from the RECIST response "
        "computed from the measurements, %(computed)s. Reason given: %(reason)s. Please review "
        "the measurements or the assessment."
    ),
    source="RECIST 1.1; issue 11",
)

OUT_OF_WINDOW = EditCheck(
    id="recist.out_of_window",
    models=(TIMEPOINT,),
    fields=("scan_date",),
    title=_("Scan outside the tumour-assessment windows"),
    message=_(
        "The scan of %(scan)s is outside every tumour-assessment window (every %(interval)s "
        "days from C1D1, ±%(window)s). Please confirm the date or record why."
    ),
    source="PROTOCOL.md “Schedule”: tumour assessments",
)

CHECKS = (INVESTIGATOR_DISAGREES, OUT_OF_WINDOW)
