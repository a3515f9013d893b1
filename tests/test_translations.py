"""The Chinese catalogue: every message translated, and the compiled ``django.mo`` that Django
reads is the ``django.po`` that people edit (a .po that msgfmt refused left an old .mo in
place, and new pages showed English in the Chinese UI)."""

from __future__ import annotations

from pathlib import Path

import polib
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"


def _messages(entries) -> dict:
    out = {}
    for e in entries:
        if not e.msgid:
            continue  # the header
        value = {int(k): v for k, v in e.msgstr_plural.items()} if e.msgid_plural else e.msgstr
        out[(e.msgctxt, e.msgid)] = value
    return out


def test_every_message_is_translated():
    po = polib.pofile(str(LOCALE / "django.po"))
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []


def test_the_compiled_catalogue_is_the_po_file():
    po = polib.pofile(str(LOCALE / "django.po"))
    mo = polib.mofile(str(LOCALE / "django.mo"))
    assert _messages(mo) == _messages(po.translated_entries())
