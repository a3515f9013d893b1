"""Reference ranges (issue 11 B): the rule of the range in force, and eligibility.ranges, the
one write path (reason, version, no overlap), on real PostgreSQL.

The clock is frozen at 2026-03-02 10:00 in Guangzhou. ``subject_a`` (GZ01, a woman) has her
screening laboratory on 2026-02-28 with ALT 22 U/L; the site's ALT range from
``add_reference_ranges`` is 7-40 U/L from 2020-01-01, with no end date.
"""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from audit.models import AuditEvent
from audit.versioning import EditConflict
from eligibility import ranges, services
from eligibility.models import EligibilitySignature, ReferenceRange, Screening
from eligibility.rules import RefRange, select_reference_range
from subjects.lifecycle import SubjectStatus
from tests.dosing.conftest import frozen_clock, treated  # noqa: F401
from tests.factories import add_reference_ranges, enrol, sign_eligible

D = dt.date
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TABLE = "eligibility_referencerange"
REASON = "Laboratory sent its 2026 reference ranges"


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def codes_of(exc: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in exc.error_dict.items()}


def alt_range(site_a):
    return ReferenceRange.objects.get(site=site_a, analyte="alt", sex="")


def add(by, site, **values):
    """A range through the service: ALT 7-40 U/L for both sexes unless ``values`` say else."""
    data = {
        "analyte": "alt",
        "unit": "U/L",
        "lln": Decimal("7"),
        "uln": Decimal("40"),
        "sex": "",
        "valid_from": D(2024, 1, 1),
        "valid_to": None,
        **values,
    }
    return ranges.create_range(site=site, by=by, reason=REASON, **data)


# --- the rule: in force from valid_from to valid_to, both days included ------------------------


def ref(since, until=None, sex=None, uln="40"):
    return RefRange("alt", "U/L", Decimal("7"), Decimal(uln), sex, since, until)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (D(2019, 12, 31), None),  # before it starts
        (D(2020, 1, 1), "40"),  # first day
        (D(2025, 12, 31), "40"),  # last day (valid_to is inclusive)
        (D(2026, 1, 1), None),  # the day after: ended, not carried forward
    ],
)
def test_an_ended_range_is_in_force_up_to_its_last_day_only(on, expected):
    chosen = select_reference_range(
        [ref(D(2020, 1, 1), D(2025, 12, 31))], analyte="alt", sex="F", on=on
    )
    assert (chosen.uln if chosen else None) == (Decimal(expected) if expected else None)


def test_after_a_sex_specific_range_ends_the_neutral_one_applies_again():
    neutral = ref(D(2020, 1, 1), uln="40")
    women = ref(D(2024, 1, 1), D(2024, 12, 31), sex="F", uln="30")
    pick = lambda on: select_reference_range([neutral, women], analyte="alt", sex="F", on=on)  # noqa: E731
    assert pick(D(2024, 12, 31)) == women
    assert pick(D(2025, 1, 1)) == neutral


# --- who may write -------------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["coordinator_a", "investigator_a", "monitor_a"])
def test_only_a_data_manager_writes_ranges(cast, site_a, member):
    add_reference_ranges(site_a)
    user, existing = cast[member], alt_range(site_a)

    with pytest.raises(PermissionDenied):
        add(user, site_a, valid_from=D(2030, 1, 1))
    with pytest.raises(PermissionDenied):
        ranges.correct_range(
            reference_range=existing,
            expected_version=1,
            changes={"uln": Decimal("45")},
            by=user,
            reason=REASON,
        )
    with pytest.raises(PermissionDenied):
        ranges.supersede_range(
            reference_range=existing,
            expected_version=1,
            valid_from=D(2026, 1, 1),
            unit="U/L",
            lln=None,
            uln=Decimal("45"),
            by=user,
            reason=REASON,
        )
    assert ReferenceRange.objects.filter(site=site_a, analyte="alt").count() == 1
    assert alt_range(site_a).version == 1


# --- create: audited with the reason; every refusal has a code ----------------------------------


def test_a_new_range_is_audited_with_the_data_manager_and_the_reason(data_manager, site_a):
    created = add(data_manager, site_a)

    event = AuditEvent.objects.get(table_name=TABLE, record_pk=str(created.pk))
    assert (event.action, event.app_username, event.reason) == ("INSERT", "dm", REASON)
    assert event.new_data["uln"] == 40 and event.new_data["valid_to"] is None


@pytest.mark.parametrize(
    ("values", "codes"),
    [
        ({"lln": None, "uln": None}, {"uln": ["limits_required"]}),
        ({"lln": Decimal("50"), "uln": Decimal("40")}, {"uln": ["lln_not_below_uln"]}),
        ({"lln": Decimal("40"), "uln": Decimal("40")}, {"uln": ["lln_not_below_uln"]}),
        ({"lln": Decimal("-1")}, {"lln": ["min_value"]}),
        ({"unit": "mg/dL"}, {"unit": ["unit_not_for_analyte"]}),  # ALT only in U/L
        ({"unit": "furlongs"}, {"unit": ["invalid_choice"]}),
        ({"analyte": "vitamin_q"}, {"analyte": ["invalid_choice"]}),
        ({"sex": "X"}, {"sex": ["invalid_choice"]}),
        ({"valid_to": D(2023, 12, 31)}, {"valid_to": ["ends_before_start"]}),
        ({"uln": Decimal("1234567.5")}, {"uln": ["max_whole_digits"]}),
    ],
)
def test_a_range_breaking_a_rule_is_refused_with_its_code(data_manager, site_a, values, codes):
    with pytest.raises(ValidationError) as caught:
        add(data_manager, site_a, **values)

    assert codes_of(caught.value) == codes
    assert not ReferenceRange.objects.exists()


def test_a_range_without_a_reason_is_refused(data_manager, site_a):
    with pytest.raises(ValidationError) as caught:
        ranges.create_range(
            site=site_a,
            analyte="alt",
            unit="U/L",
            lln=None,
            uln=Decimal("40"),
            valid_from=D(2024, 1, 1),
            by=data_manager,
            reason="  ",
        )
    assert codes_of(caught.value) == {"reason": ["required"]}
    assert not ReferenceRange.objects.exists()


# --- no two ranges of one site, analyte and sex in force on the same day --------------------------


@pytest.mark.parametrize(
    ("values", "overlaps"),
    [
        ({"valid_from": D(2024, 6, 1)}, True),  # starts inside, open-ended
        ({"valid_from": D(2023, 1, 1), "valid_to": D(2024, 1, 1)}, True),  # ends on its first day
        ({"valid_from": D(2024, 12, 31)}, True),  # starts on its last day
        ({"valid_from": D(2023, 1, 1)}, True),  # open-ended from before: covers it all
        ({"valid_from": D(2024, 3, 1), "valid_to": D(2024, 3, 31)}, True),  # inside
        ({"valid_from": D(2024, 1, 1), "valid_to": D(2024, 12, 31)}, True),  # the same days
        ({"valid_from": D(2025, 1, 1)}, False),  # the day after it ends
        ({"valid_from": D(2023, 1, 1), "valid_to": D(2023, 12, 31)}, False),  # the day before
        ({"valid_from": D(2024, 6, 1), "sex": "F"}, False),  # women only: a range of its own
        ({"valid_from": D(2024, 6, 1), "analyte": "ast"}, False),
    ],
)
def test_overlapping_ranges_are_refused(data_manager, site_a, values, overlaps):
    add(data_manager, site_a, valid_from=D(2024, 1, 1), valid_to=D(2024, 12, 31))

    if overlaps:
        with pytest.raises(ValidationError) as caught:
            add(data_manager, site_a, **values)
        assert codes_of(caught.value) == {"valid_from": ["overlap"]}
        assert (
            "GZ01 already has a range for ALT (both sexes) in force from 2024-01-01 to "
            in (caught.value.message_dict["valid_from"][0])
        )
        assert ReferenceRange.objects.count() == 1
    else:
        add(data_manager, site_a, **values)
        assert ReferenceRange.objects.count() == 2


def test_another_sites_range_never_overlaps(data_manager, site_a, site_b):
    add(data_manager, site_a)
    add(data_manager, site_b)
    assert ReferenceRange.objects.count() == 2


# --- correct: reason and version; old -> new on the trail ----------------------------------------


def test_a_correction_is_audited_old_to_new_with_the_reason(data_manager, site_a):
    created = add(data_manager, site_a)

    saved = ranges.correct_range(
        reference_range=created,
        expected_version=1,
        changes={"uln": Decimal("45")},
        by=data_manager,
        reason="ULN misread from the laboratory sheet",
    )

    assert (saved.uln, saved.version) == (Decimal("45"), 2)
    event = ranges.trail(saved).first()
    assert (event.action, event.reason, event.app_username) == (
        "UPDATE",
        "ULN misread from the laboratory sheet",
        "dm",
    )
    assert ("uln", 40, 45) in event.changes()


def test_a_correction_from_a_stale_version_is_a_conflict_and_changes_nothing(data_manager, site_a):
    created = add(data_manager, site_a)
    ranges.correct_range(
        reference_range=created,
        expected_version=1,
        changes={"uln": Decimal("45")},
        by=data_manager,
        reason="First correction",
    )

    with pytest.raises(EditConflict) as caught:
        ranges.correct_range(
            reference_range=created,
            expected_version=1,
            changes={"uln": Decimal("50")},
            by=data_manager,
            reason="Second, from the page opened before the first",
        )

    assert caught.value.current.version == 2
    assert ReferenceRange.objects.get().uln == Decimal("45")


def test_a_correction_needs_a_reason(data_manager, site_a):
    created = add(data_manager, site_a)
    with pytest.raises(ValidationError) as caught:
        ranges.correct_range(
            reference_range=created,
            expected_version=1,
            changes={"uln": Decimal("45")},
            by=data_manager,
            reason="",
        )
    assert codes_of(caught.value) == {"reason": ["required"]}
    assert ReferenceRange.objects.get().version == 1


def test_a_correction_cannot_make_two_ranges_overlap(data_manager, site_a):
    old = add(data_manager, site_a, valid_from=D(2020, 1, 1), valid_to=D(2023, 12, 31))
    add(data_manager, site_a, valid_from=D(2024, 1, 1))

    with pytest.raises(ValidationError) as caught:
        ranges.correct_range(
            reference_range=old,
            expected_version=1,
            changes={"valid_to": D(2024, 6, 30)},
            by=data_manager,
            reason="End date typed wrong",
        )
    assert codes_of(caught.value) == {"valid_from": ["overlap"]}


def test_site_and_analyte_cannot_be_corrected(data_manager, site_a):
    created = add(data_manager, site_a)
    with pytest.raises(ValidationError) as caught:
        ranges.correct_range(
            reference_range=created,
            expected_version=1,
            changes={"analyte": "ast"},
            by=data_manager,
            reason="Wrong analyte",
        )
    assert caught.value.code == "not_correctable"


# --- supersede: the old range ends the day before the new one starts -----------------------------


def test_superseding_ends_the_old_range_the_day_before_the_new_one(data_manager, site_a):
    add_reference_ranges(site_a)
    old = alt_range(site_a)

    new = ranges.supersede_range(
        reference_range=old,
        expected_version=1,
        valid_from=D(2026, 2, 1),
        unit="U/L",
        lln=Decimal("7"),
        uln=Decimal("45"),
        by=data_manager,
        reason=REASON,
    )

    old.refresh_from_db()
    assert (old.valid_from, old.valid_to, old.version) == (D(2020, 1, 1), D(2026, 1, 31), 2)
    assert (new.site, new.analyte, new.sex) == (site_a, "alt", "")
    assert (new.valid_from, new.valid_to, new.uln) == (D(2026, 2, 1), None, Decimal("45"))
    assert {e.reason for e in AuditEvent.objects.filter(table_name=TABLE, action="UPDATE")} == {
        REASON
    }
    assert AuditEvent.objects.get(table_name=TABLE, record_pk=str(new.pk)).reason == REASON


@pytest.mark.parametrize(
    ("old_values", "valid_from", "code"),
    [
        ({"valid_from": D(2024, 1, 1)}, D(2024, 1, 1), "supersede_not_after_start"),
        ({"valid_from": D(2024, 1, 1)}, D(2023, 6, 1), "supersede_not_after_start"),
        (
            {"valid_from": D(2024, 1, 1), "valid_to": D(2024, 12, 31)},
            D(2025, 1, 1),
            "supersede_after_end",
        ),
    ],
)
def test_a_superseding_range_starts_within_the_old_one(
    data_manager, site_a, old_values, valid_from, code
):
    old = add(data_manager, site_a, **old_values)
    with pytest.raises(ValidationError) as caught:
        ranges.supersede_range(
            reference_range=old,
            expected_version=1,
            valid_from=valid_from,
            unit="U/L",
            lln=None,
            uln=Decimal("45"),
            by=data_manager,
            reason=REASON,
        )
    assert codes_of(caught.value) == {"valid_from": [code]}
    assert ReferenceRange.objects.count() == 1
    assert ReferenceRange.objects.get().version == 1


def test_superseding_from_a_stale_version_is_a_conflict(data_manager, site_a):
    old = add(data_manager, site_a)
    with pytest.raises(EditConflict):
        ranges.supersede_range(
            reference_range=old,
            expected_version=7,
            valid_from=D(2025, 1, 1),
            unit="U/L",
            lln=None,
            uln=Decimal("45"),
            by=data_manager,
            reason=REASON,
        )
    assert ReferenceRange.objects.count() == 1


# --- the eligibility verdict and its signature follow the range in force -------------------------


def supersede_alt(site, by, valid_from, uln="45"):
    old = alt_range(site)
    return ranges.supersede_range(
        reference_range=old,
        expected_version=old.version,
        valid_from=valid_from,
        unit="U/L",
        lln=Decimal("7"),
        uln=Decimal(uln),
        by=by,
        reason=REASON,
    )


def test_a_new_range_in_force_on_the_lab_date_voids_the_signature_in_screening(
    subject_a, coordinator_a, data_manager
):
    signature = sign_eligible(subject_a, by=coordinator_a)  # laboratory 2026-02-28, ALT ULN 40

    supersede_alt(subject_a.site, data_manager, D(2026, 2, 1))  # ULN 45 from 2026-02-01

    signature.refresh_from_db()
    assert signature.is_void
    assert (
        signature.void_reason == "Data changed after signing: reference range alt from 2026-02-01"
    )
    assert services.valid_signature(subject_a, Screening.objects.get()) is None
    i08 = next(r for r in services.evaluate(subject_a).results if r.code == "I08")
    assert "ALT 22 U/L = 0.49 × ULN 45 U/L" in i08.reason  # 22 / 45 = 0.4888...


def test_a_range_starting_after_the_lab_date_leaves_the_signature_valid(
    subject_a, coordinator_a, data_manager
):
    """The old range now ends 2026-02-28, the laboratory day: still the one in force then."""
    signature = sign_eligible(subject_a, by=coordinator_a)

    supersede_alt(subject_a.site, data_manager, D(2026, 3, 1))

    signature.refresh_from_db()
    assert not signature.is_void
    assert services.valid_signature(subject_a, Screening.objects.get()) == signature


def test_an_enrolled_subjects_signature_is_never_voided_by_a_range_change(
    subject_a, coordinator_a, data_manager
):
    enrol(subject_a, by=coordinator_a, c1d1=D(2026, 3, 7))  # signed, then enrolled today
    relied_on = EligibilitySignature.objects.get()
    subject_a.refresh_from_db()
    assert subject_a.status == SubjectStatus.ENROLLED

    supersede_alt(subject_a.site, data_manager, D(2026, 2, 1))

    relied_on.refresh_from_db()
    assert not relied_on.is_void
    assert EligibilitySignature.objects.count() == 1


# --- lab grades (safety) use the range in force on the sample date -------------------------------


def test_lab_grading_uses_the_range_in_force_on_the_sample_date_and_never_an_ended_one(
    request, site_a, coordinator_a, data_manager
):
    """ANC 1.6 x10^9/L: grade 1 below LLN 1.8 (to 2026-01-31), grade 0 against LLN 1.5 (from
    2026-02-01); after the new range ends on 2026-02-10 there is none to grade with."""
    from safety.services import record_lab_panel
    from tests.safety.conftest import ensure_ctcae

    ensure_ctcae()
    subject = request.getfixturevalue("treated")  # enrolled 2026-01-03, C1D1 2026-01-05
    old = ReferenceRange.objects.get(site=site_a, analyte="anc")
    new = ranges.supersede_range(
        reference_range=old,
        expected_version=old.version,
        valid_from=D(2026, 2, 1),
        unit="10^9/L",
        lln=Decimal("1.5"),
        uln=Decimal("6.3"),
        by=data_manager,
        reason=REASON,
    )

    def grade(on):
        panel = record_lab_panel(
            subject=subject, by=coordinator_a, sample_date=on, values={"anc": ("1.6", "10^9/L")}
        )
        return panel.results.get().grade

    assert grade(D(2026, 1, 26)) == 1
    assert grade(D(2026, 2, 3)) == 0

    ranges.correct_range(
        reference_range=new,
        expected_version=new.version,
        changes={"valid_to": D(2026, 2, 10)},
        by=data_manager,
        reason="The laboratory withdrew this range",
    )
    with pytest.raises(ValidationError) as caught:
        grade(D(2026, 2, 16))
    assert "No reference range for ANC at this site on 2026-02-16" in str(caught.value)


# --- the migration that wrote the implicit end dates down ----------------------------------------


def test_the_migration_ends_each_range_the_day_before_the_next_one(site_a, site_b):
    migration = importlib.import_module(
        "eligibility.migrations.0005_reference_range_end_date_and_version"
    )

    def make(site, valid_from, sex=""):
        return ReferenceRange.objects.create(
            site=site, analyte="alt", unit="U/L", uln=Decimal("40"), sex=sex, valid_from=valid_from
        )

    first, second, third = (make(site_a, D(y, m, 1)) for y, m in ((2020, 1), (2024, 1), (2026, 2)))
    women = make(site_a, D(2022, 1, 1), sex="F")  # a class of its own: stays open
    other_site = make(site_b, D(2021, 1, 1))

    migration.end_implicit_ranges(None, SimpleNamespace(connection=connection))

    ends = {r.pk: r.valid_to for r in ReferenceRange.objects.all()}
    assert ends == {
        first.pk: D(2023, 12, 31),
        second.pk: D(2026, 1, 31),
        third.pk: None,
        women.pk: None,
        other_site.pk: None,
    }
    event = AuditEvent.objects.get(table_name=TABLE, record_pk=str(first.pk), action="UPDATE")
    assert event.reason == migration.REASON
