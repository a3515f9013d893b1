"""The hash chain exposes any rewrite of the audit trail, even by the database owner.

Each row's ``row_hash`` is SHA-256 over the previous row's hash and the row's canonical
text. ``verify_audit_chain`` walks the chain and names the first row that does not fit.
"""

from __future__ import annotations

import contextlib
import hashlib
import io

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from audit.backup import owner_connect
from audit.models import AuditEvent
from audit.triggers import GENESIS_HASH
from subjects import services

# The tampering is done by the owner over a connection of its own, as an administrator
# with psql would: the trail must be committed for it to see.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def trail(subject_a, coordinator_a, investigator_a):
    """A registration and three corrections: a dozen or so chained rows."""
    for user, changes in [
        (coordinator_a, {"initials": "ZWM"}),
        (investigator_a, {"consent_version": "2.2"}),
        (coordinator_a, {"sex": "M"}),
    ]:
        subject_a.refresh_from_db()
        services.correct_subject(
            subject=subject_a,
            expected_version=subject_a.version,
            changes=changes,
            by=user,
            reason="Source document verification",
        )
    events = list(AuditEvent.objects.order_by("chain_seq"))
    assert len(events) >= 6
    return events


@contextlib.contextmanager
def as_owner():
    """A cursor of the table owner's own login (what an administrator with psql could do)."""
    with owner_connect(connection.settings_dict["NAME"]) as conn:
        yield conn.cursor()


def verify() -> str:
    out = io.StringIO()
    call_command("verify_audit_chain", stdout=out)
    return out.getvalue()


def middle(trail: list[AuditEvent]) -> AuditEvent:
    return next(e for e in trail[2:-1] if e.action == "UPDATE")


def test_intact_chain_passes_and_reports_how_many_rows_it_checked(trail):
    assert verify().strip() == (
        f"Audit chain intact: {len(trail)} rows verified; "
        "no checkpoint yet (manage.py audit_checkpoint writes one)."
    )


def test_each_row_hashes_the_previous_hash_and_its_own_content(trail):
    assert [e.chain_seq for e in trail] == list(range(1, len(trail) + 1))
    assert trail[0].prev_hash == GENESIS_HASH
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, audit_canonical(e) FROM audit_auditevent e")
        canonical = dict(cursor.fetchall())
    for previous, event in zip(trail, trail[1:], strict=False):
        assert event.prev_hash == previous.row_hash
    for event in trail:
        digest = hashlib.sha256((event.prev_hash + canonical[event.pk]).encode()).hexdigest()
        assert event.row_hash == digest


@pytest.mark.parametrize(
    "assignment",
    [
        "reason = 'Per sponsor request'",
        "new_data = jsonb_set(new_data, '{initials}', '\"ABC\"')",
        "old_data = jsonb_set(old_data, '{initials}', '\"ABC\"')",
        "app_username = 'inv_a'",
        "occurred_at = occurred_at - interval '1 day'",
        "action = 'INSERT'",
    ],
    ids=["reason", "new-value", "old-value", "user", "time", "action"],
)
def test_owner_rewriting_an_audit_row_is_caught_at_that_row(trail, assignment):
    target = middle(trail)
    with as_owner() as cursor:
        cursor.execute(f"UPDATE audit_auditevent SET {assignment} WHERE id = %s", [target.pk])

    with pytest.raises(CommandError) as caught:
        verify()

    assert str(caught.value) == (
        f"Audit chain BROKEN at row {target.chain_seq}: content does not match its hash "
        f"({target.chain_seq - 1} rows before it verified)."
    )


def test_owner_rewriting_a_row_and_its_hash_is_caught_at_the_next_row(trail):
    target = middle(trail)
    with as_owner() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET reason = 'Per sponsor request' WHERE id = %s",
            [target.pk],
        )
        cursor.execute(
            "UPDATE audit_auditevent e SET row_hash = encode(sha256(convert_to("
            "e.prev_hash || audit_canonical(e), 'UTF8')), 'hex') WHERE id = %s",
            [target.pk],
        )

    with pytest.raises(CommandError, match=rf"BROKEN at row {target.chain_seq + 1}: previous"):
        verify()


def test_owner_deleting_a_middle_row_is_reported_as_missing(trail):
    target = middle(trail)
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [target.pk])

    with pytest.raises(CommandError) as caught:
        verify()

    assert str(caught.value).startswith(
        f"Audit chain BROKEN at row {target.chain_seq + 1}: row {target.chain_seq} is missing"
    )


def test_owner_deleting_the_first_row_is_reported_as_missing(trail):
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE chain_seq = 1")

    with pytest.raises(CommandError, match=r"BROKEN at row 2: row 1 is missing"):
        verify()


def test_owner_renumbering_rows_to_close_a_gap_is_caught(trail):
    target = middle(trail)
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [target.pk])
        # two steps, so the unique index never sees two rows with one number
        cursor.execute(
            "UPDATE audit_auditevent SET chain_seq = 1 - chain_seq WHERE chain_seq > %s",
            [target.chain_seq],
        )
        cursor.execute("UPDATE audit_auditevent SET chain_seq = -chain_seq WHERE chain_seq < 0")

    with pytest.raises(CommandError, match=rf"BROKEN at row {target.chain_seq}: previous"):
        verify()


def test_tampering_as_owner_leaves_the_app_login_in_place(trail):
    with as_owner() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] != settings.DB_APP_ROLE

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == settings.DB_APP_ROLE
