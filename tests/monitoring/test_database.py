"""What the database enforces whatever the path (issue 14 §3–§5): a write to frozen or
locked data is refused (service, raw SQL as the app's own login); a change to verified data
marks it "changed since verified"; a change to signed data voids the signatures over it."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from monitoring import services
from monitoring.errors import held_from
from monitoring.models import SdvMark, Signature
from tests.monitoring.conftest import correct_vitals


def raw(sql, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def refused(fn):
    with pytest.raises(DatabaseError) as exc:
        fn()
    held = held_from(exc.value)
    assert held is not None, exc.value
    return held


def test_the_app_connects_as_its_own_login(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == "alter_app"


@pytest.mark.parametrize("kind", ["freeze", "lock"])
@pytest.mark.parametrize("level", ["record", "visit", "subject", "study"])
def test_held_data_refuse_service_and_raw_sql(kind, level, c1_vitals, visit, data_manager):
    subject = c1_vitals.visit.subject
    services.place_hold(
        by=data_manager,
        kind=kind,
        level=level,
        reason="interim analysis",
        subject=subject,
        visit=visit("C1D1"),
        record=c1_vitals,
    )
    held = refused(lambda: correct_vitals(c1_vitals, subject.created_by, systolic=131))
    assert (held.kind, held.level, held.reason) == (kind, level, "interim analysis")
    for sql in (
        "UPDATE crfs_vitalsigns SET systolic = 131 WHERE id = %s",
        "DELETE FROM crfs_vitalsigns WHERE id = %s",
    ):
        held = refused(lambda sql=sql: raw(sql, [c1_vitals.pk]))
        assert held.kind == kind
    c1_vitals.refresh_from_db()
    assert (c1_vitals.systolic, c1_vitals.version) == (128, 1)


def test_a_hold_on_another_visit_or_form_does_not_stop_this_one(
    c1_vitals, visit, monitor_a, coordinator_a
):
    services.place_hold(
        by=monitor_a,
        kind="freeze",
        level="visit",
        reason="SDV visit",
        visit=visit("SCR"),
        subject=c1_vitals.visit.subject,
    )
    correct_vitals(c1_vitals, coordinator_a, systolic=131)
    c1_vitals.refresh_from_db()
    assert c1_vitals.systolic == 131


def test_lifting_the_hold_lets_the_data_change_again(c1_vitals, data_manager, coordinator_a):
    hold = services.place_hold(
        by=data_manager,
        kind="lock",
        level="record",
        reason="x",
        record=c1_vitals,
        subject=c1_vitals.visit.subject,
    )
    refused(lambda: correct_vitals(c1_vitals, coordinator_a, systolic=131))
    services.lift_hold(by=data_manager, hold=hold, reason="query answered late")
    correct_vitals(c1_vitals, coordinator_a, systolic=131)
    hold.refresh_from_db()
    assert hold.lifted_at is not None and hold.lift_reason == "query answered late"


def test_a_freeze_cannot_be_placed_on_locked_data_even_by_raw_sql(c1_vitals, data_manager):
    subject = c1_vitals.visit.subject
    services.place_hold(by=data_manager, kind="lock", level="subject", reason="x", subject=subject)
    held = refused(
        lambda: raw(
            "INSERT INTO monitoring_hold (kind, level, subject_id, record_type, reason,"
            " placed_by_id, version, lift_reason)"
            " VALUES ('freeze', 'subject', %s, '', 'r', %s, 1, '')",
            [subject.pk, data_manager.pk],
        )
    )
    assert held.kind == "lock"


def test_verified_form_is_changed_since_verified_after_any_write(
    c1_vitals, monitor_a, coordinator_a
):
    services.verify(by=monitor_a, record=c1_vitals, fields=[""])
    mark = SdvMark.objects.get(record_id=c1_vitals.pk, field="")
    assert mark.state == "verified"
    raw("UPDATE crfs_vitalsigns SET heart_rate = 77 WHERE id = %s", [c1_vitals.pk])
    mark.refresh_from_db()
    assert mark.state == "changed" and mark.changed_at is not None


def test_bookkeeping_only_writes_keep_the_verification(c1_vitals, monitor_a):
    services.verify(by=monitor_a, record=c1_vitals, fields=[""])
    raw("UPDATE crfs_vitalsigns SET version = version + 1 WHERE id = %s", [c1_vitals.pk])
    assert SdvMark.objects.get(record_id=c1_vitals.pk, field="").state == "verified"


def test_item_mark_drops_only_when_its_field_changes(c1_vitals, monitor_a, coordinator_a):
    services.verify(by=monitor_a, record=c1_vitals, fields=["systolic", "weight"])
    correct_vitals(c1_vitals, coordinator_a, systolic=140)
    states = dict(SdvMark.objects.filter(record_id=c1_vitals.pk).values_list("field", "state"))
    assert states == {"systolic": "changed", "weight": "verified"}


def _signature(level, subject, by, **target):
    return Signature.objects.create(
        level=level,
        subject=subject,
        signed_by=by,
        printed_name="Dr Test",
        meaning="m",
        content_hash="0" * 64,
        **target,
    )


def test_a_change_to_one_crf_voids_its_visit_and_casebook_signatures_and_no_other_crfs(
    c1_vitals, visit, investigator_a, coordinator_a
):
    from crfs import services as crfs
    from tests.monitoring.conftest import vitals

    subject = c1_vitals.visit.subject
    scr_vitals = crfs.save_crf(
        visit=visit("SCR"),
        form_key="vital_signs",
        by=coordinator_a,
        values=vitals(assessed_on=dt.date(2025, 12, 22), height=Decimal("170.0")),
    )
    own = _signature(
        "crf",
        subject,
        investigator_a,
        record_type="crfs.vitalsigns",
        record_id=c1_vitals.pk,
        visit=visit("C1D1"),
    )
    other = _signature(
        "crf",
        subject,
        investigator_a,
        record_type="crfs.vitalsigns",
        record_id=scr_vitals.pk,
        visit=visit("SCR"),
    )
    c1 = _signature("visit", subject, investigator_a, visit=visit("C1D1"))
    scr = _signature("visit", subject, investigator_a, visit=visit("SCR"))
    book = _signature("casebook", subject, investigator_a)
    correct_vitals(c1_vitals, coordinator_a, systolic=135)
    voided = {s.pk for s in Signature.objects.filter(voided_at__isnull=False)}
    assert voided == {own.pk, c1.pk, book.pk}
    assert {other.pk, scr.pk}.isdisjoint(voided)
    book.refresh_from_db()
    assert "crfs.vitalsigns" in book.void_reason  # says what changed
    # the voided signature stays in the history; raw SQL voids the same way
    raw("UPDATE crfs_vitalsigns SET heart_rate = 70 WHERE id = %s", [scr_vitals.pk])
    assert set(Signature.objects.filter(voided_at__isnull=True)) == set()
