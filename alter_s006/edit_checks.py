"""The edit checks of the EDC, declared once: what each checks, on which record and field,
and the message the site reads (issue 14 section 2).

Each app declares its checks in its own ``<app>/edit_checks.py`` (a ``CHECKS`` tuple of
:class:`EditCheck`); :func:`all_checks` collects them, so the query list can offer them as a
filter and a stored query's ``edit_check`` names one of them. The services that run a check
(``queries.services.sync_check``) take its id, field and text from the definition.

The message is translatable (``gettext_lazy``) and may take ``%(name)s`` parameters; the text
stored on the query is rendered in English (:meth:`EditCheck.text`), the audit trail's
language, whatever the language of the user whose write raised it.

No Django model import: the definitions name their record model by its label
(``"safety.adverseevent"``, as ``Query.record_type`` stores it).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as _field

# The apps that declare edit checks, each in ``<app>/edit_checks.py``.
MODULES = (
    "assessments.edit_checks",
    "crfs.edit_checks",
    "dosing.edit_checks",
    "logs.edit_checks",
    "safety.edit_checks",
    "subjects.edit_checks",
)


@dataclass(frozen=True, eq=False)
class EditCheck:
    """One edit check: a system query stays open on a record of ``models`` (on its first
    field) while the data fail it, and closes itself once they pass."""

    id: str  # stored on the query (``Query.edit_check``): never renamed
    models: tuple[str, ...]  # the records' labels, lower case ("safety.adverseevent",)
    fields: tuple[str, ...]  # the field the query is on first
    title: str  # a short label for the query list's filter (translatable)
    message: str  # the query text, with %(name)s parameters (translatable)
    variants: Mapping[str, str] = _field(default_factory=dict)  # other texts of the same check
    source: str = ""  # where the rule comes from (PROTOCOL.md section, issue)

    @property
    def field(self) -> str:
        return self.fields[0]

    def text(self, variant: str = "", **params) -> str:
        """The query text stored, in English, with ``params`` filled in."""
        from django.utils import translation  # not a model: safe before the apps load

        template = self.variants[variant] if variant else self.message
        with translation.override("en"):
            return str(template) % params


def all_checks() -> dict[str, EditCheck]:
    """Every edit check of the EDC by id, in id order; a duplicated id is an error."""
    found: dict[str, EditCheck] = {}
    for name in MODULES:
        for check in importlib.import_module(name).CHECKS:
            if check.id in found:
                raise ValueError(f"Edit check {check.id!r} is declared twice ({name}).")
            found[check.id] = check
    return dict(sorted(found.items()))
