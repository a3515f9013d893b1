"""Prohibited and cautionary concomitant medications: which class a medication name falls in.

Source: docs/PROTOCOL.md "Prohibited and cautionary concomitant medications [default]" (the
registry entry is silent; the usual practice for an oral VEGFR tyrosine-kinase inhibitor
metabolised mainly by CYP3A4). Each class below lists the generic names, a few brand names
and the common Chinese names it matches.

Matching (``match``): case-insensitive, on the name as typed with its dose or salt around it
("Sorafenib tosylate 200 mg", "利伐沙班片"). A Latin-letter name matches as a whole word only
("heparinoid cream" is not heparin, "rifaximin" is not rifampicin); a Chinese name matches
anywhere in the text (Chinese has no spaces between words). A match never refuses the entry:
the concomitant-medication log flags the record and asks the investigator (a query); a
``PROHIBITED`` class taken on treatment is also a protocol deviation.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    PROHIBITED = "prohibited"  # PROTOCOL.md: not allowed while on anlotinib
    CAUTIONARY = "cautionary"  # PROTOCOL.md: allowed unless at therapeutic dose (ask)


@dataclass(frozen=True)
class DrugClass:
    code: str
    label: str  # English, for the audit trail and the query text
    level: Level
    names: tuple[str, ...]


# PROTOCOL.md "Prohibited and cautionary concomitant medications [default]", one row per bullet.
CLASSES: tuple[DrugClass, ...] = (
    DrugClass(
        "vegfr_tki",
        "another VEGFR tyrosine-kinase inhibitor",
        Level.PROHIBITED,
        (
            "sorafenib",
            "nexavar",
            "索拉非尼",
            "多吉美",
            "sunitinib",
            "sutent",
            "舒尼替尼",
            "索坦",
            "pazopanib",
            "votrient",
            "培唑帕尼",
            "regorafenib",
            "stivarga",
            "瑞戈非尼",
            "拜万戈",
            "lenvatinib",
            "lenvima",
            "仑伐替尼",
            "乐卫玛",
            "axitinib",
            "inlyta",
            "阿昔替尼",
            "英立达",
            "cabozantinib",
            "cabometyx",
            "cometriq",
            "卡博替尼",
            "apatinib",
            "rivoceranib",
            "阿帕替尼",
            "艾坦",
            "fruquintinib",
            "呋喹替尼",
            "爱优特",
            "vandetanib",
            "凡德他尼",
            "nintedanib",
            "尼达尼布",
            "surufatinib",
            "索凡替尼",
            "donafenib",
            "多纳非尼",
        ),
    ),  # fmt: skip
    DrugClass(
        "cyp3a4_inducer",
        "a strong CYP3A4 inducer",
        Level.PROHIBITED,
        (
            "rifampicin",
            "rifampin",
            "利福平",
            "rifabutin",
            "利福布汀",
            "rifapentine",
            "利福喷丁",
            "carbamazepine",
            "tegretol",
            "卡马西平",
            "phenytoin",
            "fosphenytoin",
            "dilantin",
            "苯妥英",
            "phenobarbital",
            "phenobarbitone",
            "苯巴比妥",
            "st john's wort",
            "st. john's wort",
            "st johns wort",
            "hypericum",
            "圣约翰草",
            "贯叶连翘",
            "enzalutamide",
            "恩扎卢胺",
            "apalutamide",
            "阿帕他胺",
            "mitotane",
            "米托坦",
        ),
    ),  # fmt: skip
    DrugClass(
        "cyp3a4_inhibitor",
        "a strong CYP3A4 inhibitor",
        Level.PROHIBITED,
        (
            "ketoconazole",
            "nizoral",
            "酮康唑",
            "itraconazole",
            "sporanox",
            "伊曲康唑",
            "voriconazole",
            "vfend",
            "伏立康唑",
            "posaconazole",
            "noxafil",
            "泊沙康唑",
            "clarithromycin",
            "klacid",
            "biaxin",
            "克拉霉素",
            "telithromycin",
            "泰利霉素",
            "ritonavir",
            "norvir",
            "利托那韦",
            "cobicistat",
            "考比司他",
            "indinavir",
            "茚地那韦",
            "nelfinavir",
            "奈非那韦",
            "saquinavir",
            "沙奎那韦",
            "nefazodone",
            "奈法唑酮",
        ),
    ),  # fmt: skip
    DrugClass(
        "anticoagulant",
        "an anticoagulant (prohibited at therapeutic dose)",
        Level.CAUTIONARY,
        (
            "warfarin",
            "coumadin",
            "华法林",
            "acenocoumarol",
            "醋硝香豆素",
            "rivaroxaban",
            "xarelto",
            "利伐沙班",
            "拜瑞妥",
            "apixaban",
            "eliquis",
            "阿哌沙班",
            "edoxaban",
            "lixiana",
            "艾多沙班",
            "dabigatran",
            "pradaxa",
            "达比加群",
            "enoxaparin",
            "clexane",
            "lovenox",
            "依诺肝素",
            "克赛",
            "dalteparin",
            "fragmin",
            "达肝素",
            "nadroparin",
            "fraxiparine",
            "那屈肝素",
            "heparin",
            "肝素",
            "fondaparinux",
            "arixtra",
            "磺达肝癸钠",
        ),
    ),  # fmt: skip
)


@dataclass(frozen=True)
class Match:
    drug_class: DrugClass
    name: str  # the entry of the table that matched

    @property
    def prohibited(self) -> bool:
        return self.drug_class.level is Level.PROHIBITED


def normalise(text: str) -> str:
    """Case-folded, full-width letters made plain (NFKC), curly apostrophes straight, one
    space between words."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(text.split())


def _is_latin(name: str) -> bool:
    return all(ch.isascii() for ch in name)


def _pattern(name: str) -> re.Pattern:
    if _is_latin(name):
        return re.compile(rf"(?<![a-z]){re.escape(name)}(?![a-z])")
    return re.compile(re.escape(name))


_PATTERNS = tuple(
    (drug_class, name, _pattern(normalise(name)))
    for drug_class in CLASSES
    for name in drug_class.names
)


def match(medication: str) -> Match | None:
    """The first class (in the table's order) whose names occur in ``medication``, or None.

    A prohibited class wins over a cautionary one (the table lists them first)."""
    text = normalise(medication)
    if not text:
        return None
    for drug_class, name, pattern in _PATTERNS:
        if pattern.search(text):
            return Match(drug_class=drug_class, name=name)
    return None


def by_code(code: str) -> DrugClass | None:
    return next((c for c in CLASSES if c.code == code), None)
