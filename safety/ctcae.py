"""The CTCAE v4.03 dictionary as shipped with the product (``safety/data/ctcae_v4.03.csv``).

Source: Common Terminology Criteria for Adverse Events v4.03 (NCI, 14 June 2010), one row per
term: MedDRA LLT code, system organ class (SOC), term, the five grade cells, the definition and
the errata note (``shared/data/ctcae_v4.03.csv``; 790 terms in 26 SOCs). PROTOCOL.md "Outcomes":
adverse events are graded by CTCAE v4.03.

Reading rules:

* A grade cell holding "-" means the grade does not exist for the term (e.g. no grade 5 for
  "Neutrophil count decreased", no grade 1 for "Febrile neutropenia"); an empty cell means the
  same (three rows of the file leave grade 5 empty: "Lymph node pain", "Obesity", "Edema
  cerebral"). Such a grade can never be chosen.
* "Other, specify" terms (one per SOC, e.g. "Investigations - Other, specify") name no event:
  the verbatim term is required with them.

Pure Python: standard library only, no Django import.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DATA_FILE",
    "GRADES",
    "Term",
    "allowed_grades",
    "grade_not_allowed",
    "is_other_specify",
    "read_terms",
]

DATA_FILE = Path(__file__).resolve().parent / "data" / "ctcae_v4.03.csv"
GRADES = (1, 2, 3, 4, 5)
_ABSENT = {"", "-"}
_COLUMNS = (
    "meddra_code",
    "soc",
    "term",
    "grade_1",
    "grade_2",
    "grade_3",
    "grade_4",
    "grade_5",
    "definition",
    "errata",
)


def allowed_grades(cells: Iterable[str]) -> tuple[int, ...]:
    """The grades whose cell (grade 1 first) holds a definition, not "-" or nothing."""
    return tuple(g for g, cell in zip(GRADES, cells, strict=True) if cell.strip() not in _ABSENT)


def is_other_specify(term: str) -> bool:
    """True for the "<SOC> - Other, specify" terms, which need the verbatim term."""
    return term.rstrip().endswith("Other, specify")


def grade_not_allowed(term: str, grade: int) -> str:
    """The message refusing ``grade`` for ``term``."""
    return f"Grade {grade} does not exist for {term} in CTCAE 4.03."


@dataclass(frozen=True)
class Term:
    """One row of the dictionary."""

    meddra_code: int
    soc: str
    term: str
    grades: tuple[str, str, str, str, str]  # the cells of grades 1..5 as written
    definition: str
    errata: str = ""

    @property
    def allowed_grades(self) -> tuple[int, ...]:
        return allowed_grades(self.grades)

    @property
    def other_specify(self) -> bool:
        return is_other_specify(self.term)

    def definition_of(self, grade: int) -> str:
        """The wording of ``grade`` for this term; "" when the grade does not exist."""
        if grade not in self.allowed_grades:
            return ""
        return self.grades[grade - 1].strip()


def _parse(rows: Iterator[dict[str, str]]) -> Iterator[Term]:
    for line, row in enumerate(rows, start=2):
        try:
            code = int(row["meddra_code"])
        except (TypeError, ValueError):
            code_text = row["meddra_code"]
            raise ValueError(f"line {line}: MedDRA code {code_text!r} is not a number") from None
        grades = tuple((row[f"grade_{g}"] or "").strip() for g in GRADES)
        yield Term(
            meddra_code=code,
            soc=row["soc"].strip(),
            term=row["term"].strip(),
            grades=grades,  # type: ignore[arg-type]
            definition=(row["definition"] or "").strip(),
            errata=(row.get("errata") or "").strip(),
        )


def read_terms(path: Path | str = DATA_FILE) -> list[Term]:
    """Every term of the CSV file at ``path``, in file order.

    Raises ``ValueError`` on a file whose header is not the dictionary's, a MedDRA code that
    is not a number, or a code or term given twice."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != _COLUMNS:
            raise ValueError(f"{path}: expected the columns {', '.join(_COLUMNS)}")
        terms = list(_parse(iter(reader)))
    for attribute in ("meddra_code", "term"):
        seen: set = set()
        for term in terms:
            value = getattr(term, attribute)
            if value in seen:
                raise ValueError(f"{path}: {attribute} {value!r} is given twice")
            seen.add(value)
    return terms
