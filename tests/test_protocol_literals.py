"""Every protocol number comes from alter_s006/protocol.py — in code, help texts and templates.

Issue 11 A.6: the baseline window (28 days), the tumour-assessment grid (42 ± 7), the SAE
clock (24 h), the AE window and safety follow-up (+ 21 days), compliance (80 / 120 %), the
dosing days (1–14), the lab-offer grade and the lockout (5 attempts) were written out in
pages and messages. This test reads every string literal of the apps' code (docstrings and
comments aside: they may explain a number) and every template, and fails when such a
number reappears as text.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APPS = ["accounts", "alter_s006", "assessments", "audit", "crfs", "dosing", "eligibility", "logs",
        "outbox",
        "outcomes", "queries", "safety", "subjects"]  # fmt: skip

# A protocol number written out in words a user reads.
PATTERNS = {
    "baseline / screening window": r"\b28[ -]?days?\b|\b28 天",
    "tumour-assessment grid": r"\b42 days\b|±\s*7\b|\+/- ?7\b",
    "SAE clock": r"\b24[ -]hours?\b(?! urine)",  # "24-hour urine protein" is a lab test
    "AE window / safety follow-up": r"\+\s*21 days|\b21 days after\b",
    "compliance bounds": r"\b80 ?%|\b120 ?%",
    "dosing days": r"\bdays 1\s*[-–]\s*14\b",
    "lab-offer grade": r"\bgrade 2 or more\b",
    "lockout": r"\bAfter 5 failed\b",
    "dashboard horizon": r"\bnext 7 days\b",
}
PATTERN = re.compile("|".join(f"(?:{p})" for p in PATTERNS.values()), re.IGNORECASE)


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def python_strings():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            docstrings = _docstring_nodes(tree)
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and id(node) not in docstrings
                ):
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", node.value


def template_texts():
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            yield f"{path.relative_to(ROOT)}:{number}", line


def test_the_scan_finds_what_it_looks_for():
    assert PATTERN.search("Scans within 28 days before C1D1.")
    assert PATTERN.search("every 42 days, ±7")
    assert PATTERN.search("Starts the 24-hour clock")
    assert PATTERN.search("low (< 80 %), high (> 120 %)")
    assert not PATTERN.search("Scans within {{ baseline_days }} days before C1D1.")
    assert not PATTERN.search("Urine protein (24 h)")  # a unit, not the SAE clock
    assert not PATTERN.search("a 24-hour urine protein >= 3.5 g")


@pytest.mark.parametrize("source", ["python", "templates"])
def test_no_protocol_number_is_written_out_in_code_or_templates(source):
    texts = python_strings() if source == "python" else template_texts()
    found = [f"{where}: {text.strip()[:120]}" for where, text in texts if PATTERN.search(text)]
    assert found == []
