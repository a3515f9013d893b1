"""Migration 0003 puts the events of the old single chain on their per-subject chains.

The test rebuilds the trail as it was before the migration (one global chain numbered
1..n, hashed with the old canonical text, anchored by an old-format checkpoint), runs the
migration's conversion, and checks that the trail verifies, that each event is on its
subject's chain, that the old checkpoint still pins the old rows (through the hash each
kept), and that tampering done before the migration is not laundered by the re-hashing.
"""

from __future__ import annotations

import dataclasses
import importlib
import json

import pytest
from django.conf import settings

from audit.anchor import LegacyCheckpoint, _sign, write_checkpoint
from audit.db_roles import owner_connection
from audit.models import AuditEvent
from tests.audit.test_chain import as_owner, correct, failure, verify

pytestmark = pytest.mark.django_db(transaction=True)

migration = importlib.import_module("audit.migrations.0003_per_subject_chains")

TO_OLD_CHAIN = """
UPDATE audit_auditevent SET chain_seq = -chain_seq, chain_pos = -id, chain_key = 0,
       legacy_hash = '';
UPDATE audit_auditevent e SET chain_seq = n.rn
  FROM (SELECT id, row_number() OVER (ORDER BY chain_seq DESC) AS rn FROM audit_auditevent) n
 WHERE n.id = e.id;
DO $$ DECLARE r record; prev text := repeat('0', 64); BEGIN
  FOR r IN SELECT id FROM audit_auditevent ORDER BY chain_seq LOOP
    UPDATE audit_auditevent e SET prev_hash = prev,
        row_hash = encode(sha256(convert_to(prev || audit_canonical_v1(e), 'UTF8')), 'hex')
      WHERE id = r.id RETURNING row_hash INTO prev;
  END LOOP;
END $$;
"""


@pytest.fixture
def old_trail(subject_a, subject_b, coordinator_a):
    """The trail as the single global chain left it, anchored by an old checkpoint."""
    correct(subject_a, coordinator_a, initials="ZWM")
    correct(subject_a, coordinator_a, sex="M")
    with as_owner() as cursor:
        cursor.execute(TO_OLD_CHAIN)
    newest = AuditEvent.objects.order_by("-chain_seq")[0]
    assert newest.chain_seq == AuditEvent.objects.count()
    unsigned = LegacyCheckpoint(newest.chain_seq, newest.row_hash, "2026-11-30T00:00:00.000000Z")
    signed = dataclasses.replace(unsigned, hmac=_sign(unsigned, settings.AUDIT_HMAC_KEY))
    settings.AUDIT_CHECKPOINT_FILE.write_text(json.dumps(dataclasses.asdict(signed)) + "\n")
    return {e.pk: (e.chain_seq, e.row_hash) for e in AuditEvent.objects.all()}


def relink() -> None:
    with owner_connection() as owner:
        migration.relink(owner)


def test_the_old_chain_converted_verifies_per_subject(old_trail, subject_a, subject_b):
    relink()

    events = list(AuditEvent.objects.all())
    assert {e.pk: (e.chain_seq, e.legacy_hash) for e in events} == old_trail
    assert {e.chain_key for e in events} == {0, subject_a.pk, subject_b.pk}
    for event in events:
        data = event.new_data or event.old_data or {}
        if event.table_name == "subjects_subject":
            assert event.chain_key == int(event.record_pk)
        elif "subject_id" in data:
            assert event.chain_key == data["subject_id"]
        else:
            assert event.chain_key == 0
    assert verify().strip() == (
        f"Audit chain intact: {len(events)} events on 3 chains verified; anchored only by 1 "
        "checkpoints of the chain before the per-subject chains, the latest at event "
        f"#{len(events)} (2026-11-30T00:00:00.000000Z): manage.py audit_checkpoint anchors "
        "every chain."
    )


def test_writes_after_the_migration_continue_the_chains(old_trail, subject_a, coordinator_a):
    relink()
    before = AuditEvent.objects.filter(chain_key=subject_a.pk).order_by("-chain_pos")[0]

    correct(subject_a, coordinator_a, initials="ZWN")

    after = AuditEvent.objects.filter(chain_key=subject_a.pk).order_by("-chain_pos")[0]
    assert after.chain_pos == before.chain_pos + 1
    assert after.prev_hash == before.row_hash
    assert after.chain_seq > len(old_trail)
    assert after.legacy_hash == ""
    assert write_checkpoint() is not None
    assert verify().startswith("Audit chain intact")


def test_the_old_checkpoint_still_catches_a_deleted_tail_of_the_old_chain(old_trail):
    relink()
    last = len(old_trail)
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE chain_seq = %s", [last])

    assert failure().startswith(
        f"Audit chain BROKEN at event #{last}: the event anchored at 2026-11-30T00:00:00.000000Z "
        "is gone (rows deleted from the end of the trail)"
    )


def test_tampering_before_the_migration_is_not_laundered_by_it(old_trail, subject_a):
    target = (
        AuditEvent.objects.filter(table_name="subjects_subject", action="UPDATE")
        .order_by("chain_seq")
        .first()
    )
    with as_owner() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = 'x' WHERE id = %s", [target.pk])

    relink()
    target.refresh_from_db()

    assert failure().startswith(
        f"Audit chain BROKEN at event #{target.chain_seq} (subject {subject_a.pk}'s chain, "
        f"position {target.chain_pos}): content does not match its hash on the chain before "
        "the per-subject chains"
    )
