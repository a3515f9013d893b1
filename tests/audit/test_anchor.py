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

from audit.anchor import (
    AnchorRefused,
    anchored_heads,
    heads_digest,
    read_checkpoints,
    write_checkpoint,
)
from audit.models import AuditEvent
from audit.tasks import checkpoint_audit_chain
from subjects import services
from tests.audit.test_chain import as_owner
from tests.factories import make_subject

pytestmark = pytest.mark.django_db(transaction=True)

RECOMPUTE_FROM = """
DO $$ DECLARE r record; prev text; BEGIN
  SELECT row_hash INTO prev FROM audit_auditevent
   WHERE chain_key = %(key)s AND chain_pos = %(pos)s - 1;
  prev := coalesce(prev, repeat('0', 64));
  FOR r IN SELECT id FROM audit_auditevent WHERE chain_key = %(key)s AND chain_pos >= %(pos)s
           ORDER BY chain_pos LOOP
    UPDATE audit_auditevent e SET prev_hash = prev,
        row_hash = encode(sha256(convert_to(prev || audit_canonical(e), 'UTF8')), 'hex')
      WHERE id = r.id RETURNING row_hash INTO prev;
  END LOOP;
END $$;
"""


def recompute_chain_from(cursor, key: int, pos: int) -> None:
    """What a superuser covering their tracks would do: re-hash a chain from ``pos`` on."""
    cursor.execute(
        RECOMPUTE_FROM.replace("%(key)s", str(int(key))).replace("%(pos)s", str(int(pos)))
    )


def head(key: int) -> AuditEvent:
    return AuditEvent.objects.filter(chain_key=key).order_by("-chain_pos")[0]


def verify(*args) -> str:
    out = io.StringIO()
    call_command("verify_audit_chain", *args, stdout=out)
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
    newest = head(subject_a.pk)
    assert checkpoint.heads[subject_a.pk] == (newest.chain_pos, newest.row_hash)
    return checkpoint


def test_a_checkpoint_is_a_signed_line_of_every_chains_head_and_verify_uses_it(anchored, subject_a):
    lines = settings.AUDIT_CHECKPOINT_FILE.read_text().splitlines()
    assert len(lines) == 1
    stored = json.loads(lines[0])
    heads = {
        key: (event.chain_pos, event.row_hash)
        for key in AuditEvent.objects.values_list("chain_key", flat=True).distinct()
        for event in [head(key)]
    }
    assert set(heads) == {0, subject_a.pk}
    assert stored["version"] == 2
    assert stored["heads"] == {str(k): list(v) for k, v in heads.items()}
    assert stored["chains"] == 2
    assert stored["digest"] == heads_digest(heads) == anchored.digest
    assert len(stored["hmac"]) == 64
    assert settings.AUDIT_HMAC_KEY not in lines[0]
    assert verify().endswith(
        f"anchored: 1 checkpoints, the latest of 2 chains at {anchored.written_at}."
    )
    assert verify("--subject", str(subject_a.pk)).endswith(
        f"anchored up to position {heads[subject_a.pk][0]}."
    )


def test_nothing_new_is_not_anchored_twice(anchored):
    assert write_checkpoint() is None
    assert len(read_checkpoints()) == 1


def test_the_next_checkpoint_carries_the_chains_that_grew(anchored, subject_a, subject_b):
    later = write_checkpoint()

    assert set(later.heads) == {subject_b.pk, 0}  # B's registration (its site: study chain)
    assert later.chains == 3
    assert anchored_heads() == {
        key: (head(key).chain_pos, head(key).row_hash) for key in (0, subject_a.pk, subject_b.pk)
    }
    assert verify().startswith("Audit chain intact")


def test_a_recomputed_chain_is_caught_at_the_checkpoint(anchored, subject_a):
    target = (
        AuditEvent.objects.filter(chain_key=subject_a.pk, action="UPDATE")
        .order_by("chain_pos")
        .first()
    )
    anchored_pos = anchored.heads[subject_a.pk][0]
    with as_owner() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET reason = 'Per sponsor request' WHERE id = %s",
            [target.pk],
        )
        recompute_chain_from(cursor, subject_a.pk, target.chain_pos)

    message = failure()

    assert message.startswith(
        f"Audit chain BROKEN at subject {subject_a.pk}'s chain, position {anchored_pos}: the "
        f"event no longer has the hash anchored at {anchored.written_at}"
    )
    assert "recomputed" in message


def test_a_deleted_tail_is_caught_at_the_checkpoint(anchored, subject_a):
    anchored_pos = anchored.heads[subject_a.pk][0]
    with as_owner() as cursor:
        cursor.execute(
            "DELETE FROM audit_auditevent WHERE chain_key = %s AND chain_pos > %s",
            [subject_a.pk, anchored_pos - 2],
        )

    assert failure().startswith(
        f"Audit chain BROKEN at subject {subject_a.pk}'s chain, position {anchored_pos}: the "
        f"event anchored at {anchored.written_at} is gone (events deleted from the end of the "
        "chain)"
    )


def test_a_whole_chain_deleted_is_caught_at_its_anchored_head(anchored, subject_a):
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE chain_key = %s", [subject_a.pk])

    assert failure().startswith(
        f"Audit chain BROKEN at subject {subject_a.pk}'s chain, position "
        f"{anchored.heads[subject_a.pk][0]}: the event anchored at {anchored.written_at} is gone"
    )


def test_a_truncated_trail_is_caught_at_the_checkpoint(anchored):
    with as_owner() as cursor:
        cursor.execute("TRUNCATE audit_auditevent")

    assert failure().startswith(
        f"Audit chain BROKEN at the study-level chain, position {anchored.heads[0][0]}: the "
        f"event anchored at {anchored.written_at} is gone"
    )


def test_a_checkpoint_removed_from_the_file_is_caught(anchored, subject_b):
    later = write_checkpoint()
    path = settings.AUDIT_CHECKPOINT_FILE
    path.write_text(path.read_text().splitlines()[1] + "\n")

    assert failure().startswith(
        f"Audit chain BROKEN at checkpoint 1: the checkpoints before the one written at "
        f"{later.written_at} are not all there (a checkpoint was removed from the file)"
    )


def test_a_deleted_tail_after_the_last_checkpoint_is_caught_by_the_clinical_rows(
    anchored, site_a, coordinator_a
):
    late = make_subject(site_a, coordinator_a, initials="LTE")
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE chain_key = %s", [late.pk])

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
            "UPDATE audit_auditevent SET chain_pos = -(chain_pos - 1) "
            "WHERE chain_key = %s AND chain_pos > %s",
            [subject_a.pk, insert.chain_pos],
        )
        cursor.execute("UPDATE audit_auditevent SET chain_pos = -chain_pos WHERE chain_pos < 0")
        recompute_chain_from(cursor, subject_a.pk, insert.chain_pos)

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


@pytest.mark.parametrize("field", ["digest", "heads"])
def test_a_forged_checkpoint_is_refused(anchored, field):
    path = settings.AUDIT_CHECKPOINT_FILE
    forged = json.loads(path.read_text())
    if field == "digest":
        forged["digest"] = "f" * 64
    else:
        forged["heads"]["0"][1] = "f" * 64
    path.write_text(json.dumps(forged) + "\n")

    assert failure().startswith(
        "Audit chain BROKEN at checkpoint 1: checkpoint signature is not valid"
    )


def test_a_tampered_trail_is_never_anchored(anchored, subject_a, coordinator_a):
    correct(subject_a, coordinator_a, initials="ZWP")
    newest = head(subject_a.pk)
    with as_owner() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = 'x' WHERE id = %s", [newest.pk])

    with pytest.raises(
        AnchorRefused,
        match=rf"event #{newest.chain_seq} \(subject {subject_a.pk}'s chain, position "
        rf"{newest.chain_pos}\): content does not match",
    ):
        write_checkpoint()
    assert len(read_checkpoints()) == 1


def test_beat_anchors_the_chains_and_logs_the_checkpoint(subject_a, caplog):
    assert settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]["task"] == (
        "audit.tasks.checkpoint_audit_chain"
    )
    with caplog.at_level(logging.INFO, logger="audit.checkpoint"):
        result = checkpoint_audit_chain()

    heads = {key: (head(key).chain_pos, head(key).row_hash) for key in (0, subject_a.pk)}
    assert result == {
        "anchored": True,
        "chains": 2,
        "chains_changed": 2,
        "digest": heads_digest(heads),
    }
    assert f'"digest": "{heads_digest(heads)}"' in caplog.text
    assert "AUDIT CHECKPOINT" in caplog.text


def test_beat_logs_an_error_and_anchors_nothing_when_the_trail_is_broken(subject_a, caplog):
    with as_owner() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET reason = 'x' WHERE chain_key = %s AND chain_pos = 1",
            [subject_a.pk],
        )

    with caplog.at_level(logging.INFO, logger="audit.checkpoint"):
        result = checkpoint_audit_chain()

    assert result["anchored"] is False
    assert "AUDIT TRAIL DOES NOT VERIFY" in caplog.text
    assert read_checkpoints() == []
