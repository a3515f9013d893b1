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
import re
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
    "synonym_terms",
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


# --- synonyms -------------------------------------------------------------------------------

#: Words a site types for a CTCAE v4.03 term, normalised (lower case, "-" and "/" as spaces) ->
#: the terms meant, best first. Targets are term names exactly as in ``data/ctcae_v4.03.csv``
#: (NCI CTCAE v4.03, 14 June 2010). Sources of the synonyms:
#:
#: * [D] the term's own definition in CTCAE v4.03 (the CSV): "(ALT or SGPT)", "(AST or SGOT)";
#: * [G] the term's grade wording in CTCAE v4.03: "QTc ..." (QT corrected), "ANC" (Febrile
#:   neutropenia's grade 3 reads "ANC <1000/mm3");
#: * [A] standard clinical abbreviations of the laboratory test / finding (ALP, Hb/Hgb, PLT,
#:   WBC, ANC = absolute neutrophil count, HTN, TSH, DVT) and the "-penia" / "-emia" names of the
#:   decreased counts, as in common medical abbreviation lists (e.g. the NCI Dictionary of
#:   Cancer Terms);
#: * [B] British spelling (anaemia, haemoglobin, leucopenia, diarrhoea);
#: * [H] "hand-foot syndrome" (HFS) and "hand-foot skin reaction" (HFSR, the name used for the
#:   reaction to multikinase inhibitors such as anlotinib) for palmar-plantar
#:   erythrodysesthesia syndrome (PPE), the CTCAE v4.03 term for both.
#:
#: TSH alone is ambiguous (high: hypothyroidism; low: hyperthyroidism): it offers both.
SYNONYMS: dict[str, tuple[str, ...]] = {
    # [H]
    "hand foot": ("Palmar-plantar erythrodysesthesia syndrome",),
    "hand foot syndrome": ("Palmar-plantar erythrodysesthesia syndrome",),
    "hand foot skin reaction": ("Palmar-plantar erythrodysesthesia syndrome",),
    "hfs": ("Palmar-plantar erythrodysesthesia syndrome",),
    "hfsr": ("Palmar-plantar erythrodysesthesia syndrome",),
    "ppe": ("Palmar-plantar erythrodysesthesia syndrome",),
    # [D]
    "alt": ("Alanine aminotransferase increased",),
    "sgpt": ("Alanine aminotransferase increased",),
    "ast": ("Aspartate aminotransferase increased",),
    "sgot": ("Aspartate aminotransferase increased",),
    # [A] [G]
    "anc": ("Neutrophil count decreased", "Febrile neutropenia"),
    "neutropenia": ("Neutrophil count decreased", "Febrile neutropenia"),
    "qtc": ("Electrocardiogram QT corrected interval prolonged",),
    "qt prolongation": ("Electrocardiogram QT corrected interval prolonged",),
    "qtc prolongation": ("Electrocardiogram QT corrected interval prolonged",),
    "plt": ("Platelet count decreased",),
    "thrombocytopenia": ("Platelet count decreased",),
    "wbc": ("White blood cell decreased",),
    "leukopenia": ("White blood cell decreased",),
    "hb": ("Anemia", "Hemoglobin increased"),
    "hgb": ("Anemia", "Hemoglobin increased"),
    "alp": ("Alkaline phosphatase increased",),
    "htn": ("Hypertension",),
    "high blood pressure": ("Hypertension",),
    "urine protein": ("Proteinuria",),
    "tsh": ("Hypothyroidism", "Hyperthyroidism"),
    "dvt": ("Thromboembolic event",),
    # [B]
    "anaemia": ("Anemia",),
    "haemoglobin": ("Anemia", "Hemoglobin increased"),
    "leucopenia": ("White blood cell decreased",),
    "diarrhoea": ("Diarrhea",),
}
_SEPARATORS = re.compile(r"[\s\-/]+")


def normalise_query(q: str) -> str:
    """Lower case, "-" and "/" read as spaces, one space between words."""
    return _SEPARATORS.sub(" ", (q or "").lower()).strip()


def synonym_terms(q: str) -> tuple[str, ...]:
    """The CTCAE terms ``q`` (as a whole) is a synonym of (see :data:`SYNONYMS`), best first."""
    return SYNONYMS.get(normalise_query(q), ())
