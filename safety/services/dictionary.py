"""Load the CTCAE v4.03 dictionary (``safety.ctcae`` reads the file)."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from safety import ctcae
from safety.models import (
    CtcaeTerm,
)


def load_ctcae(path: Path | str = ctcae.DATA_FILE, *, model=CtcaeTerm) -> tuple[int, int]:
    """Create or update every term of the dictionary file (idempotent): (created, updated).

    ``model`` is the historical model when a migration calls it."""
    terms = ctcae.read_terms(path)
    stored = {row.meddra_code: row for row in model.objects.all()}
    created, updated = [], []
    for term in terms:
        values = {
            "soc": term.soc,
            "term": term.term,
            "grade_1": term.grades[0],
            "grade_2": term.grades[1],
            "grade_3": term.grades[2],
            "grade_4": term.grades[3],
            "grade_5": term.grades[4],
            "definition": term.definition,
            "errata": term.errata,
            "other_specify": term.other_specify,
        }
        row = stored.get(term.meddra_code)
        if row is None:
            created.append(model(meddra_code=term.meddra_code, **values))
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            updated.append(row)
    with transaction.atomic():
        model.objects.bulk_create(created)
        if updated:
            model.objects.bulk_update(updated, list(values))
    return len(created), len(updated)
