"""crfs.derived against values worked out by hand (arithmetic in the comment of each row).

BSA: Mosteller RD, N Engl J Med 1987;317:1098: sqrt(height cm x weight kg / 3600), 0.01 half-up.
QTcF: Fridericia LS, Acta Med Scand 1920: QT / RR(s)^(1/3), RR = 60 / HR; whole ms half-up.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from crfs.derived import DerivationError, bsa_mosteller, qtcf_ms

MODULE = Path(__file__).resolve().parents[2] / "crfs" / "derived.py"


# --- BSA (Mosteller) ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("height", "weight", "expected"),
    [
        # 170 x 70 = 11900; / 3600 = 3.305556; sqrt = 1.818119 -> 1.82
        (D("170"), D("70"), D("1.82")),
        # 180 x 80 = 14400; / 3600 = 4; sqrt = 2 -> 2.00
        (D("180"), D("80"), D("2.00")),
        # 150 x 50 = 7500; / 3600 = 2.083333; sqrt = 1.443376 -> 1.44
        (D("150"), D("50"), D("1.44")),
        # 160 x 90 = 14400 -> 2.00 (same product as 180 x 80)
        (D("160"), D("90"), D("2.00")),
        # 60 x 60 = 3600; / 3600 = 1; sqrt = 1 -> 1.00
        (60, 60, D("1.00")),
        # The half: BSA exactly 1.825 when height x weight = (60 x 1.825)^2 = 109.5^2 = 11990.25;
        # 11990.25 / 180 = 66.6125 kg -> 1.825 exactly -> half-up 1.83 (half-even would say 1.82)
        (D("180"), D("66.6125"), D("1.83")),
        # 180 x 66.6124 = 11990.232 < 11990.25 -> sqrt < 109.5 -> BSA < 1.825 -> 1.82
        (D("180"), D("66.6124"), D("1.82")),
        # 180 x 66.6126 = 11990.268 > 11990.25 -> BSA > 1.825 -> 1.83
        (D("180"), D("66.6126"), D("1.83")),
        # Next half up, 1.835: (60 x 1.835)^2 = 110.1^2 = 12122.01; / 100 cm = 121.2201 kg -> 1.84
        (D("100"), D("121.2201"), D("1.84")),
        # 100 x 121.2200 = 12122.00 < 12122.01 -> just below 1.835 -> 1.83
        (D("100"), D("121.2200"), D("1.83")),
    ],
)
def test_bsa_mosteller(height, weight, expected):
    result = bsa_mosteller(height, weight)
    assert result == expected
    assert result.as_tuple().exponent == -2  # always two decimals, "2.00" not "2"


@pytest.mark.parametrize(
    ("height", "weight", "field", "code"),
    [
        (D("0"), D("70"), "height_cm", "not_positive"),
        (D("-170"), D("70"), "height_cm", "not_positive"),
        (D("170"), D("0"), "weight_kg", "not_positive"),
        (D("170"), D("-0.1"), "weight_kg", "not_positive"),
        (170.0, D("70"), "height_cm", "not_a_number"),  # a float is refused
        ("170", D("70"), "height_cm", "not_a_number"),
        (True, D("70"), "height_cm", "not_a_number"),
        (D("170"), None, "weight_kg", "not_a_number"),
        (D("NaN"), D("70"), "height_cm", "not_a_number"),
        (D("170"), D("Infinity"), "weight_kg", "not_a_number"),
    ],
)
def test_bsa_refuses_what_it_cannot_use(height, weight, field, code):
    with pytest.raises(DerivationError) as caught:
        bsa_mosteller(height, weight)
    assert (caught.value.field, caught.value.code) == (field, code)
    assert isinstance(caught.value, ValueError)
    assert caught.value.message == str(caught.value)


def test_bsa_smallest_positive_inputs_are_accepted():
    # 0.01 x 0.01 = 0.0001; / 3600 -> sqrt = 0.01 / 60 = 0.000167 -> 0.00 (no error: > 0)
    assert bsa_mosteller(D("0.01"), D("0.01")) == D("0.00")


# --- QTcF (Fridericia) -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("qt", "kwargs", "expected"),
    [
        # HR 60 -> RR = 60 / 60 = 1 s; 1^(1/3) = 1 -> QTcF = QT = 400
        (D("400"), {"heart_rate_bpm": D("60")}, 400),
        # RR 1000 ms = 1 s -> 400
        (D("400"), {"rr_ms": D("1000")}, 400),
        # RR 729 ms = 0.729 s; 0.9^3 = 0.729 so the cube root is 0.9; 360 / 0.9 = 400
        (D("360"), {"rr_ms": D("729")}, 400),
        # The half at RR 0.729 s: 360.45 / 0.9 = 400.5 -> half-up 401
        (D("360.45"), {"rr_ms": D("729")}, 401),
        # 360.44 / 0.9 = 400.4889 -> 400
        (D("360.44"), {"rr_ms": D("729")}, 400),
        # 360.46 / 0.9 = 400.5111 -> 401
        (D("360.46"), {"rr_ms": D("729")}, 401),
        # HR 60 (RR 1 s): 400.5 -> 401; 400.4 -> 400; 399.5 -> 400; 399.4 -> 399
        (D("400.5"), {"heart_rate_bpm": D("60")}, 401),
        (D("400.4"), {"heart_rate_bpm": D("60")}, 400),
        (D("399.5"), {"heart_rate_bpm": D("60")}, 400),
        (D("399.4"), {"heart_rate_bpm": D("60")}, 399),
        # RR 512 ms = 0.512 s = 0.8^3 -> cube root 0.8; 320 / 0.8 = 400
        (D("320"), {"rr_ms": D("512")}, 400),
        # The same RR from the heart rate: 60 / 0.512 = 117.1875 bpm; 320 / 0.8 = 400
        (D("320"), {"heart_rate_bpm": D("117.1875")}, 400),
        # 320.4 / 0.8 = 400.5 -> 401; 320.39 / 0.8 = 400.4875 -> 400 (from the heart rate)
        (D("320.4"), {"heart_rate_bpm": D("117.1875")}, 401),
        (D("320.39"), {"heart_rate_bpm": D("117.1875")}, 400),
        # RR 1331 ms = 1.1^3 s -> cube root 1.1 (slow heart: QTcF below QT); 440 / 1.1 = 400
        (D("440"), {"rr_ms": D("1331")}, 400),
        # 440.55 / 1.1 = 400.5 -> 401; 440.54 / 1.1 = 400.4909 -> 400
        (D("440.55"), {"rr_ms": D("1331")}, 401),
        (D("440.54"), {"rr_ms": D("1331")}, 400),
        # HR 75 -> RR 0.8 s; 0.8^(1/3) = 0.928318 (0.928318^3 = 0.800001); 400 / 0.928318 =
        # 430.887 -> 431
        (D("400"), {"heart_rate_bpm": D("75")}, 431),
        # HR 120 -> RR 0.5 s; 0.5^(1/3) = 0.793701; 300 / 0.793701 = 377.976 -> 378
        (D("300"), {"heart_rate_bpm": 120}, 378),
    ],
)
def test_qtcf(qt, kwargs, expected):
    result = qtcf_ms(qt, **kwargs)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    ("qt", "kwargs", "field", "code"),
    [
        (D("400"), {}, "rr_ms", "rr_or_heart_rate"),  # neither
        (D("400"), {"rr_ms": D("1000"), "heart_rate_bpm": D("60")}, "rr_ms", "rr_or_heart_rate"),
        (D("0"), {"rr_ms": D("1000")}, "qt_ms", "not_positive"),
        (D("-400"), {"rr_ms": D("1000")}, "qt_ms", "not_positive"),
        (D("400"), {"rr_ms": D("0")}, "rr_ms", "not_positive"),
        (D("400"), {"heart_rate_bpm": D("0")}, "heart_rate_bpm", "not_positive"),
        (D("400"), {"heart_rate_bpm": D("-60")}, "heart_rate_bpm", "not_positive"),
        (400.0, {"rr_ms": D("1000")}, "qt_ms", "not_a_number"),
        (D("400"), {"rr_ms": 1000.0}, "rr_ms", "not_a_number"),
        (D("400"), {"heart_rate_bpm": "60"}, "heart_rate_bpm", "not_a_number"),
    ],
)
def test_qtcf_refuses_what_it_cannot_use(qt, kwargs, field, code):
    with pytest.raises(DerivationError) as caught:
        qtcf_ms(qt, **kwargs)
    assert (caught.value.field, caught.value.code) == (field, code)


def test_qtcf_arguments_after_qt_are_keyword_only():
    with pytest.raises(TypeError):
        qtcf_ms(D("400"), D("1000"))  # type: ignore[misc]


# --- Purity ------------------------------------------------------------------------------------
def test_module_imports_only_the_standard_library():
    tree = ast.parse(MODULE.read_text(encoding="utf-8"))
    imported = {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    } | {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def test_module_loads_without_django():
    code = (
        "import importlib.util, sys\n"
        "from decimal import Decimal\n"
        f"spec = importlib.util.spec_from_file_location('derived', {str(MODULE)!r})\n"
        "module = sys.modules['derived'] = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "assert module.bsa_mosteller(Decimal('170'), Decimal('70')) == Decimal('1.82')\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'\n"
    )
    subprocess.run([sys.executable, "-I", "-c", code], check=True, timeout=30)


def test_24h_urine_protein_from_two_plus():
    # issue 13: "24 h protein if >= 2+": 1+ no, 2+ yes
    from alter_s006 import protocol as P
    from crfs.derived import DerivationError, needs_24h_protein

    n = P.URINE_PROTEIN_24H_FROM_DIPSTICK_PLUS
    assert n == 2
    assert [needs_24h_protein(r, n) for r in ("negative", "trace", "1+", "2+", "3+", "4+")] == [
        False,
        False,
        False,
        True,
        True,
        True,
    ]
    assert needs_24h_protein(" 2+ ", n)
    assert not needs_24h_protein("3+", 4) and needs_24h_protein("4+", 4)
    with pytest.raises(DerivationError):
        needs_24h_protein("5+", n)
