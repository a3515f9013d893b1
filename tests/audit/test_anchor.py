"""The trail is anchored outside the database, so even its owner cannot rewrite it unseen.

A superuser can recompute every hash after a changed row, or delete the newest rows, and
the chain is whole again. ``verify_audit_chain`` still catches both against the signed
checkpoints in ``AUDIT_CHECKPOINT_FILE`` (key from the environment, never in the
database), and catches clinical rows the trail does not account for: a deleted INSERT
event, a row changed with the triggers switched off.
"""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from audit.anchor import AnchorRefused, read_checkpoints, write_checkpoint
from audit.models import AuditEvent
from audit.tasks import checkpoint_audit_chain
from subjects import services
from tests.audit.test_chain import as_owner
from tests.factories import make_subject

pytestmark = pytest.mark.django_db(transaction=True)

RECOMPUTE_FROM = """
DO $$ DECLARE r record; prev text; BEGIN
  SELECT row_hash INTO prev FROM audit_auditevent WHERE chain_seq = %(seq)s - 1;
  prev := coalesce(prev, repeat('0', 64));
  FOR r IN SELECT id FROM audit_auditevent WHERE chain_seq >= %(seq)s ORDER BY chain_seq LOOP
    UPDATE audit_auditevent e SET prev_hash = prev,
        row_hash = encode(sha256(convert_to(prev || audit_canonical(e), 'UTF8')), 'hex')
      WHERE id = r.id RETURNING row_hash INTO prev;
  END LOOP;
END $$;
"""


def recompute_chain_from(cursor, seq: int) -> None:
    """What a superuser covering their tracks would do: re-hash every row from ``seq``."""
    cursor.execute(RECOMPUTE_FROM.replace("%(seq)s", str(int(seq))))


def verify() -> str:
    out = io.StringIO()
    call_command("verify_audit_chain", stdout=out)
    return out.getvalue().strip()


def failure() -> str:
    with pytest.raises(CommandError) as caught:
        verify()
    return str(caught.value)


def correct(subject, user, **changes):
    subject.refresh_from_db()
    services.correct_subject(
        subject=subject,
        expected_version=subject.version,
        changes=changes,
        by=user,
        reason="Source document verification",
    )


@pytest.fixture
def anchored(subject_a, coordinator_a):
    """A trail with a few corrections, anchored by a checkpoint."""
    correct(subject_a, coordinator_a, initials="ZWM")
    correct(subject_a, coordinator_a, sex="M")
    checkpoint = write_checkpoint()
    assert checkpoint is not None
    assert checkpoint.chain_seq == AuditEvent.objects.order_by("-chain_seq")[0].chain_seq
    return checkpoint


def test_a_checkpoint_is_a_signed_line_outside_the_database_and_verify_uses_it(anchored):
    lines = settings.AUDIT_CHECKPOINT_FILE.read_text().splitlines()
    assert len(lines) == 1
    stored = json.loads(lines[0])
    assert stored["chain_seq"] == anchored.chain_seq
    assert stored["row_hash"] == anchored.row_hash
    assert len(stored["hmac"]) == 64
    assert settings.AUDIT_HMAC_KEY not in lines[0]
    assert verify().endswith(
        f"anchored: 1 checkpoints, the latest at row {anchored.chain_seq} ({anchored.written_at})."
    )


def test_nothing_new_is_not_anchored_twice(anchored):
    assert write_checkpoint() is None
    assert len(read_checkpoints()) == 1


def test_a_recomputed_chain_is_caught_at_the_checkpoint(anchored):
    target = AuditEvent.objects.filter(action="UPDATE").order_by("chain_seq").first()
    with as_owner() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET reason = 'Per sponsor request' WHERE id = %s",
            [target.pk],
        )
        recompute_chain_from(cursor, target.chain_seq)

    message = failure()

    assert message.startswith(
        f"Audit chain BROKEN at row {anchored.chain_seq}: row {anchored.chain_seq} no longer "
        "has the hash anchored at"
    )
    assert "recomputed" in message


def test_a_deleted_tail_is_caught_at_the_checkpoint(anchored):
    with as_owner() as cursor:
        cursor.execute(
            "DELETE FROM audit_auditevent WHERE chain_seq > %s", [anchored.chain_seq - 2]
        )

    assert failure().startswith(
        f"Audit chain BROKEN at row {anchored.chain_seq}: row {anchored.chain_seq}, anchored "
        f"at {anchored.written_at}, is gone (rows deleted from the end of the trail)"
    )


def test_a_deleted_tail_after_the_last_checkpoint_is_caught_by_the_clinical_rows(
    anchored, site_a, coordinator_a
):
    late = make_subject(site_a, coordinator_a, initials="LTE")
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE chain_seq > %s", [anchored.chain_seq])

    assert failure().startswith(
        f"Audit trail INCOMPLETE: subjects_subject row {late.pk} has no INSERT event"
    )


def test_a_deleted_insert_event_is_caught_even_with_the_chain_recomputed(subject_a):
    insert = AuditEvent.objects.get(
        table_name="subjects_subject", record_pk=str(subject_a.pk), action="INSERT"
    )
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [insert.pk])
        cursor.execute(
            "UPDATE audit_auditevent SET chain_seq = -(chain_seq - 1) WHERE chain_seq > %s",
            [insert.chain_seq],
        )
        cursor.execute("UPDATE audit_auditevent SET chain_seq = -chain_seq WHERE chain_seq < 0")
        recompute_chain_from(cursor, insert.chain_seq)

    assert failure().startswith(
        f"Audit trail INCOMPLETE: subjects_subject row {subject_a.pk} has no INSERT event"
    )


def test_a_row_changed_with_the_triggers_off_is_caught(subject_a):
    with as_owner() as cursor:
        cursor.execute("ALTER TABLE subjects_subject DISABLE TRIGGER audit_row")
        cursor.execute("UPDATE subjects_subject SET initials = 'XXX' WHERE id = %s", [subject_a.pk])
        cursor.execute("ALTER TABLE subjects_subject ENABLE TRIGGER audit_row")

    assert failure().startswith(
        f"Audit trail INCOMPLETE: subjects_subject row {subject_a.pk} differs from its last "
        "audited state (changed unaudited)"
    )


def test_an_audited_change_from_a_session_in_another_time_zone_is_not_a_difference(subject_a):
    with as_owner() as cursor:
        cursor.execute("SET TIME ZONE 'Asia/Shanghai'")
        cursor.execute(
            "UPDATE subjects_subject SET updated_at = now(), initials = 'ZWN' WHERE id = %s",
            [subject_a.pk],
        )

    assert verify().startswith("Audit chain intact")


def test_a_forged_checkpoint_is_refused(anchored):
    path = settings.AUDIT_CHECKPOINT_FILE
    forged = json.loads(path.read_text())
    forged["row_hash"] = "f" * 64
    path.write_text(json.dumps(forged) + "\n")

    assert failure().startswith(
        f"Audit chain BROKEN at row {anchored.chain_seq}: checkpoint signature is not valid"
    )


def test_a_tampered_trail_is_never_anchored(anchored, subject_a, coordinator_a):
    correct(subject_a, coordinator_a, initials="ZWP")
    newest = AuditEvent.objects.order_by("-chain_seq")[0]
    with as_owner() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = 'x' WHERE id = %s", [newest.pk])

    with pytest.raises(AnchorRefused, match=rf"row {newest.chain_seq}: content does not match"):
        write_checkpoint()
    assert len(read_checkpoints()) == 1


def test_beat_anchors_the_chain_and_logs_the_checkpoint(subject_a, caplog):
    assert settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]["task"] == (
        "audit.tasks.checkpoint_audit_chain"
    )
    with caplog.at_level(logging.INFO, logger="audit.checkpoint"):
        result = checkpoint_audit_chain()

    newest = AuditEvent.objects.order_by("-chain_seq")[0]
    assert result == {"anchored": True, "chain_seq": newest.chain_seq, "row_hash": newest.row_hash}
    assert f'"chain_seq": {newest.chain_seq}' in caplog.text
    assert "AUDIT CHECKPOINT" in caplog.text


def test_beat_logs_an_error_and_anchors_nothing_when_the_trail_is_broken(subject_a, caplog):
    with as_owner() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = 'x' WHERE chain_seq = 1")

    with caplog.at_level(logging.INFO, logger="audit.checkpoint"):
        result = checkpoint_audit_chain()

    assert result["anchored"] is False
    assert "AUDIT TRAIL DOES NOT VERIFY" in caplog.text
    assert read_checkpoints() == []
