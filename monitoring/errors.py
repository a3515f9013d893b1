"""A write refused by the database because the data are frozen or locked (issue 14 §4).

``monitoring_guard`` raises SQLSTATE ``ALFRZ`` / ``ALLCK`` with the hold as JSON detail;
``held_from`` turns that database error back into ``HeldData`` for the page (a message) and
the API (423 with the reason).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.utils.translation import gettext as _

from monitoring.triggers import SQLSTATE_FROZEN, SQLSTATE_LOCKED


@dataclass
class HeldData(Exception):
    kind: str  # "freeze" | "lock"
    level: str  # study | subject | visit | record
    reason: str

    @property
    def code(self) -> str:
        return "locked" if self.kind == "lock" else "frozen"

    def message(self) -> str:
        levels = {
            "study": _("the whole study"),
            "subject": _("this subject"),
            "visit": _("this visit"),
            "record": _("this form"),
        }
        where = levels.get(self.level, self.level)
        if self.kind == "lock":
            text = _("Nothing was saved: %(where)s is locked (%(reason)s).")
        else:
            text = _("Nothing was saved: %(where)s is frozen (%(reason)s); queries and SDV go on.")
        return text % {"where": where, "reason": self.reason}


def held_from(exc: BaseException) -> HeldData | None:
    """The hold behind a database error raised by ``monitoring_guard``, or None."""
    seen = 0
    while exc is not None and seen < 5:
        sqlstate = getattr(exc, "sqlstate", None)
        if sqlstate in (SQLSTATE_FROZEN, SQLSTATE_LOCKED):
            detail = getattr(getattr(exc, "diag", None), "message_detail", None) or "{}"
            try:
                data = json.loads(detail)
            except ValueError:
                data = {}
            return HeldData(
                kind="lock" if sqlstate == SQLSTATE_LOCKED else "freeze",
                level=data.get("level", ""),
                reason=data.get("reason", ""),
            )
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None
