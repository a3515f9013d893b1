"""The edit checks of the logs (concomitant medications), run by ``logs.services``; declared
for ``alter_s006.edit_checks``. Ids are stored: never rename one."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from alter_s006.edit_checks import EditCheck

CONMED_PROHIBITED = EditCheck(
    id="logs.conmed_prohibited",
    models=("logs.conmed",),
    fields=("name",),
    title=_("Prohibited or cautionary concomitant medication"),
    message=_(
        "%(name)s is %(drug_class)s, prohibited with anlotinib (PROTOCOL.md, prohibited and "
        "cautionary concomitant medications). Investigator: please review the medication and "
        "confirm or dismiss the protocol deviation."
    ),
    variants={
        "cautionary": _(
            "%(name)s is %(drug_class)s (PROTOCOL.md, prohibited and cautionary concomitant "
            "medications). Investigator: is the dose therapeutic? If so it is prohibited with "
            "anlotinib."
        ),
    },
    source="PROTOCOL.md “Prohibited and cautionary concomitant medications”",
)

CHECKS = (CONMED_PROHIBITED,)
