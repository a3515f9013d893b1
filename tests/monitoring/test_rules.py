"""monitoring.rules, table-driven (issue 14 §4–§6, the Veeva / MACRO / InForm definitions):
every operation against every combination of the two flags; the SDV state of a form; the
icons of a cell."""

import pytest

from monitoring.rules import (
    Icon,
    Op,
    Refusal,
    SdvState,
    cell_icons,
    form_sdv_state,
    refusal,
    sdv_required,
)

N, F, L, FL = (False, False), (True, False), (False, True), (True, True)  # (frozen, locked)
R = Refusal
# op -> refusal with (neither, frozen, locked, frozen and locked), worked out from the issue:
# frozen: no data change, everything else goes on; locked: nothing but unlock.
TABLE = {
    Op.CHANGE_DATA: (None, R.FROZEN, R.LOCKED, R.LOCKED),
    Op.RAISE_QUERY: (None, None, R.LOCKED, R.LOCKED),
    Op.ANSWER_QUERY: (None, None, R.LOCKED, R.LOCKED),
    Op.VERIFY: (None, None, R.LOCKED, R.LOCKED),
    Op.SIGN: (None, None, R.LOCKED, R.LOCKED),
    Op.FREEZE: (None, R.ALREADY_FROZEN, R.LOCKED, R.LOCKED),  # locked data cannot be frozen
    Op.UNFREEZE: (R.NOT_FROZEN, None, R.LOCKED, R.LOCKED),
    Op.LOCK: (None, None, R.ALREADY_LOCKED, R.ALREADY_LOCKED),  # frozen data may be locked
    Op.UNLOCK: (R.NOT_LOCKED, R.NOT_LOCKED, None, None),
}


def test_every_operation_is_in_the_table():
    assert set(TABLE) == set(Op)


@pytest.mark.parametrize(
    ("op", "flags", "expected"),
    [(op, flags, row[i]) for op, row in TABLE.items() for i, flags in enumerate((N, F, L, FL))],
)
def test_refusal(op, flags, expected):
    frozen, locked = flags
    assert refusal(op, frozen=frozen, locked=locked) == expected


def test_sdv_requirement_from_the_protocol_percent():
    percent = {"safety.adverseevent": 100, "crfs.vitalsigns": 0}
    assert sdv_required("safety.adverseevent", percent)
    assert not sdv_required("crfs.vitalsigns", percent)  # 0 % both sides of the boundary
    assert not sdv_required("crfs.ecog", percent)  # not named: none
    assert sdv_required("x", {"x": 1})


@pytest.mark.parametrize(
    ("form", "items", "expected"),
    [
        (None, {}, SdvState.NOT_VERIFIED),
        ("verified", {}, SdvState.NOT_VERIFIED),  # the critical items are not verified yet
        ("verified", {"onset_date": "verified"}, SdvState.NOT_VERIFIED),  # one of two
        ("verified", {"onset_date": "verified", "term": "verified"}, SdvState.VERIFIED),
        ("verified", {"onset_date": "changed", "term": "verified"}, SdvState.CHANGED),
        ("changed", {"onset_date": "verified", "term": "verified"}, SdvState.CHANGED),
        (None, {"onset_date": "verified", "term": "verified"}, SdvState.NOT_VERIFIED),
    ],
)
def test_form_sdv_state(form, items, expected):
    assert form_sdv_state(form, items, ("term", "onset_date")) == expected


def test_form_without_critical_items_is_verified_by_its_form_mark():
    assert form_sdv_state("verified", {}, ()) == SdvState.VERIFIED


def test_cell_icons_order_and_precedence():
    assert cell_icons(
        completeness="complete",
        open_queries=2,
        sdv="verified",
        signed=True,
        frozen=True,
        locked=True,
    ) == [Icon.COMPLETE, Icon.OPEN_QUERIES, Icon.VERIFIED, Icon.SIGNED, Icon.LOCKED]
    assert cell_icons(
        completeness="incomplete",
        open_queries=0,
        sdv="changed",
        signed=False,
        frozen=True,
        locked=False,
    ) == [Icon.INCOMPLETE, Icon.CHANGED, Icon.FROZEN]
    assert cell_icons(
        completeness="not_started",
        open_queries=0,
        sdv=None,
        signed=False,
        frozen=False,
        locked=False,
    ) == [Icon.NOT_STARTED]
