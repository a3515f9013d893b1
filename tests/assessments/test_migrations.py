"""Migration 0005 (issue 11 C13): timepoint notes from English text to codes, and back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from assessments import services
from assessments.models import Timepoint
from audit.db_roles import owner_connection
from tests.assessments.test_services import NON_TARGETS, TARGETS

BEFORE = ("assessments", "0004_free_text_allows_angle_brackets")
AFTER = ("assessments", "0005_timepoint_notes_as_codes")


def migrate_to(target) -> None:
    with owner_connection() as connection:
        executor = MigrationExecutor(connection)
        executor.migrate([target])
    connections["default"].close()  # the app's connection re-reads the column types


@pytest.mark.django_db(transaction=True)
def test_old_english_notes_are_kept_as_text_notes(treated, coordinator_a, frozen_clock):
    services.record_baseline(
        subject=treated, by=coordinator_a, targets=TARGETS, non_targets=NON_TARGETS
    )
    services.record_timepoint(
        subject=treated,
        by=coordinator_a,
        scan_date=dt.date(2026, 2, 16),
        measurements={"T1": ("measured", 28), "T2": ("measured", 21), "T3": ("measured", 21)},
        non_target_status="non-CR/non-PD",
        new_lesion="no",
    )
    try:
        migrate_to(BEFORE)
        with owner_connection() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT notes FROM assessments_timepoint")
            assert cursor.fetchall() == [("pr_from_baseline",)]  # back: a code per line
            cursor.execute(
                "UPDATE assessments_timepoint SET notes = %s", ["First old note.\nSecond one."]
            )
    finally:
        migrate_to(AFTER)

    (tp,) = Timepoint.objects.all()
    assert tp.notes == [
        {"code": "text", "params": {"text": "First old note."}},
        {"code": "text", "params": {"text": "Second one."}},
    ]
