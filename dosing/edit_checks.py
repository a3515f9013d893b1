"""The edit checks of drug accountability, declared for ``alter_s006.edit_checks``; ids are
stored, never rename one.

* ``dosing.compliance_out_of_range``: a returned dispensing whose compliance is below
  ``P.COMPLIANCE_LOW_PERCENT`` or above ``P.COMPLIANCE_HIGH_PERCENT`` (``dosing.exposure``
  computes it and flags it, the bounds not flagged; issue 14 section 2). Synced when a return
  is recorded, when a dose modification changes the planned doses, and by ``sync_edit_checks``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from alter_s006.edit_checks import EditCheck

COMPLIANCE = EditCheck(
    id="dosing.compliance_out_of_range",
    models=("dosing.dispensing",),
    fields=("returned",),
    title=_("Compliance out of range"),
    message=_(
        "Compliance of the bottle dispensed on %(dispensed)s is %(percent)s%% (%(taken)s "
        "capsules taken for %(planned)s doses planned to %(until)s), outside %(low)s–%(high)s%%. "
        "Please check the capsules returned and the missed doses, or explain."
    ),
    source="PROTOCOL.md “The trial”: drug accountability [default bounds]",
)

CHECKS = (COMPLIANCE,)
