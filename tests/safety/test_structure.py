"""The shape of the safety code (issue 11 A5): services split by topic, reads in selectors, and
one direction of dependency between subjects and safety."""

import ast
import inspect
from pathlib import Path

import pytest

import safety.selectors
import safety.services
import subjects.services
from safety.services import aes, causality, dictionary, labs, sae

ROOT = Path(__file__).resolve().parents[2]
SAFETY_MODULES = [safety.selectors, aes, causality, dictionary, labs, sae]


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module imported, inside a function) for every import of the file."""
    tree = ast.parse(path.read_text())
    local = {
        id(node)
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(fn)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found.append((node.module or "", id(node) in local))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, id(node) in local) for alias in node.names)
    return found


def test_subjects_services_never_imports_safety():
    """The circle is gone: subjects.services sends ``status_changed``; safety connects to it."""
    imported = [m for m, _local in _imports(Path(subjects.services.__file__))]
    assert not [m for m in imported if m == "safety" or m.startswith("safety.")]


@pytest.mark.parametrize("module", SAFETY_MODULES, ids=lambda m: m.__name__)
def test_safety_services_import_at_the_top_not_to_dodge_a_circle(module):
    local = [m for m, is_local in _imports(Path(module.__file__)) if is_local]
    assert local == []


def test_a_fatal_ae_records_the_death_through_subjects_services():
    assert aes.change_status is subjects.services.change_status


def test_selectors_do_not_import_services():
    imported = [m for m, _local in _imports(Path(safety.selectors.__file__))]
    assert not [m for m in imported if m.startswith("safety.services")]


def test_the_status_signal_re_flags_the_reporting_window():
    assert subjects.services.status_changed.has_listeners(subjects.services.Subject)


def test_services_is_a_package_of_topics_and_callers_keep_their_names():
    assert Path(safety.services.__file__).name == "__init__.py"
    for name in safety.services.__all__:
        assert callable(getattr(safety.services, name)) or name.isupper(), name
    assert len(inspect.getsource(safety.services).splitlines()) < 100


def test_api_schemas_live_in_their_own_module():
    tree = ast.parse((ROOT / "safety" / "api.py").read_text())
    assert not [node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
