"""The hash chains expose any rewrite of the audit trail, even by the database owner.

The trail is one chain per subject plus the study-level chain. On each chain the events
are numbered 1, 2, 3... and each ``row_hash`` is SHA-256 over the previous event's hash
on that chain and the event's canonical text. ``verify_audit_chain`` walks every chain
and names the first event that does not fit.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from audit.backup import owner_connect
from audit.chain import verify_chain, verify_subject_chain
from audit.context import lock_audit_chain
from audit.models import AuditEvent
from audit.triggers import GENESIS_HASH, chain_key_function_sql, chain_path
from subjects import services
from subjects.models import Subject, Visit

# The tampering is done by the owner over a connection of its own, as an administrator
# with psql would: the trail must be committed for it to see.
pytestmark = pytest.mark.django_db(transaction=True)


def correct(subject, user, **changes):
    subject.refresh_from_db()
    services.correct_subject(
        subject=subject,
        expected_version=subject.version,
        changes=changes,
        by=user,
        reason="Source document verification",
    )


def chain(key: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(chain_key=key).order_by("chain_pos"))


@pytest.fixture
def trail(subject_a, coordinator_a, investigator_a):
    """A registration and three corrections: the subject's chain, a dozen or so events."""
    for user, changes in [
        (coordinator_a, {"initials": "ZWM"}),
        (investigator_a, {"consent_version": "2.2"}),
        (coordinator_a, {"sex": "M"}),
    ]:
        correct(subject_a, user, **changes)
    events = chain(subject_a.pk)
    assert len(events) >= 6
    return events


@contextlib.contextmanager
def as_owner():
    """A cursor of the table owner's own login (what an administrator with psql could do)."""
    with owner_connect(connection.settings_dict["NAME"]) as conn:
        yield conn.cursor()


def verify(*args) -> str:
    out = io.StringIO()
    call_command("verify_audit_chain", *args, stdout=out)
    return out.getvalue()


def failure(*args) -> str:
    with pytest.raises(CommandError) as caught:
        verify(*args)
    return str(caught.value)


def middle(trail: list[AuditEvent]) -> AuditEvent:
    return next(e for e in trail[2:-1] if e.action == "UPDATE")


def at(event: AuditEvent, pos: int | None = None) -> str:
    """How the command names an event: '#seq (subject N's chain, position P)'."""
    if pos is not None:
        event = AuditEvent.objects.get(chain_key=event.chain_key, chain_pos=pos)
    label = "the study-level chain" if event.chain_key == 0 else f"subject {event.chain_key}'s"
    label += " chain" if event.chain_key else ""
    return f"event #{event.chain_seq} ({label}, position {event.chain_pos})"


def verified_before(event: AuditEvent) -> int:
    """Events verified before ``event``: the chains walked before its own, then its own."""
    earlier = AuditEvent.objects.filter(chain_key__lt=event.chain_key).count()
    return earlier + event.chain_pos - 1


# --- the chains ---------------------------------------------------------------------------


def test_intact_chains_pass_and_the_report_counts_events_and_chains(trail, subject_b):
    chains = AuditEvent.objects.values("chain_key").distinct().count()
    assert chains == 3  # the study-level chain, subject A's, subject B's
    assert verify().strip() == (
        f"Audit chain intact: {AuditEvent.objects.count()} events on {chains} chains verified; "
        "no checkpoint yet (manage.py audit_checkpoint writes one)."
    )


def test_each_event_hashes_the_previous_hash_of_its_own_chain_and_its_own_content(
    trail, subject_a, subject_b
):
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, audit_canonical(e) FROM audit_auditevent e")
        canonical = dict(cursor.fetchall())
    for key in (0, subject_a.pk, subject_b.pk):
        events = chain(key)
        assert [e.chain_pos for e in events] == list(range(1, len(events) + 1))
        assert events[0].prev_hash == GENESIS_HASH
        seqs = [e.chain_seq for e in events]
        assert seqs == sorted(seqs)  # the global sequence follows the chain's order
        for previous, event in zip(events, events[1:], strict=False):
            assert event.prev_hash == previous.row_hash
        for event in events:
            digest = hashlib.sha256((event.prev_hash + canonical[event.pk]).encode()).hexdigest()
            assert event.row_hash == digest
    # the global sequence is unique across the chains
    assert AuditEvent.objects.values("chain_seq").distinct().count() == AuditEvent.objects.count()


def test_a_subjects_rows_are_on_its_chain_and_study_rows_on_the_study_chain(
    trail, subject_a, subject_b
):
    for event in chain(subject_a.pk):
        data = event.new_data or event.old_data
        assert (event.table_name, data.get("subject_id", data["id"])) in {
            ("subjects_subject", subject_a.pk),
            (event.table_name, subject_a.pk),
        }
    tables = {e.table_name for e in chain(subject_a.pk)}
    assert {"subjects_subject", "subjects_visit"} <= tables
    study = {e.table_name for e in chain(0)}
    assert "accounts_site" in study
    assert not study & {"subjects_subject", "subjects_visit"}


def test_rows_one_key_away_from_the_subject_go_on_its_chain():
    from safety.models import LabResult, SaeReport

    assert chain_path(Subject) == ("self",)
    assert chain_path(Visit)[:2] == ("column", "subject_id")
    kind, fk, parent = chain_path(LabResult)
    assert (kind, fk.name, parent.name) == ("parent", "panel", "subject")
    assert chain_path(SaeReport)[1].name == "ae"
    sql = chain_key_function_sql()
    assert "WHEN 'safety_labresult' THEN RETURN coalesce((SELECT p.\"subject_id\" FROM " in sql
    assert '"safety_labpanel" p WHERE p."id" = (j ->> \'panel_id\')::bigint)' in sql
    assert "WHEN 'accounts_site'" not in sql  # the study-level chain (ELSE 0)


def test_the_chain_key_function_puts_a_lab_result_on_its_panels_subject(subject_a):
    panel = json.dumps({"subject_id": subject_a.pk})
    with connection.cursor() as cursor:
        cursor.execute("SELECT audit_chain_key('safety_labpanel', %s::jsonb)", [panel])
        assert cursor.fetchone()[0] == subject_a.pk
        cursor.execute("SELECT audit_chain_key('safety_labresult', '{\"panel_id\": -1}'::jsonb)")
        assert cursor.fetchone()[0] == 0  # no such panel: the study-level chain
        cursor.execute(
            "SELECT audit_chain_key('subjects_subject', %s::jsonb)", [f'{{"id": {subject_a.pk}}}']
        )
        assert cursor.fetchone()[0] == subject_a.pk


# --- tampering ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "assignment",
    [
        "reason = 'Per sponsor request'",
        "new_data = jsonb_set(new_data, '{initials}', '\"ABC\"')",
        "old_data = jsonb_set(old_data, '{initials}', '\"ABC\"')",
        "app_username = 'inv_a'",
        "occurred_at = occurred_at - interval '1 day'",
        "action = 'INSERT'",
        "chain_seq = chain_seq + 100000",
        "legacy_hash = repeat('a', 64)",
    ],
    ids=["reason", "new-value", "old-value", "user", "time", "action", "sequence", "legacy"],
)
def test_owner_rewriting_an_audit_event_is_caught_at_that_event(trail, assignment):
    target = middle(trail)
    with as_owner() as cursor:
        cursor.execute(f"UPDATE audit_auditevent SET {assignment} WHERE id = %s", [target.pk])
    target.refresh_from_db()

    assert failure() == (
        f"Audit chain BROKEN at {at(target)}: content does not match its hash "
        f"({verified_before(target)} events before it verified)."
    )


def test_owner_rewriting_an_event_and_its_hash_is_caught_at_the_next_event(trail):
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

    assert failure().startswith(
        f"Audit chain BROKEN at {at(target, target.chain_pos + 1)}: previous-hash link"
    )


def test_owner_deleting_a_middle_event_is_reported_as_missing(trail):
    target = middle(trail)
    after = at(target, target.chain_pos + 1)
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [target.pk])

    assert failure().startswith(
        f"Audit chain BROKEN at {after}: position {target.chain_pos} is missing"
    )


def test_owner_deleting_the_first_event_of_a_chain_is_reported_as_missing(trail, subject_a):
    second = at(trail[1])
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [trail[0].pk])

    assert failure().startswith(f"Audit chain BROKEN at {second}: position 1 is missing")


def test_owner_renumbering_events_to_close_a_gap_is_caught(trail):
    target = middle(trail)
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [target.pk])
        # two steps, so the unique index never sees two events at one position
        cursor.execute(
            "UPDATE audit_auditevent SET chain_pos = 1 - chain_pos "
            "WHERE chain_key = %s AND chain_pos > %s",
            [target.chain_key, target.chain_pos],
        )
        cursor.execute(
            "UPDATE audit_auditevent SET chain_pos = -chain_pos "
            "WHERE chain_key = %s AND chain_pos < 0",
            [target.chain_key],
        )

    closed = at(target, target.chain_pos)  # the event now numbered where the deleted one was
    assert failure().startswith(f"Audit chain BROKEN at {closed}: previous-hash link")


def test_owner_reordering_two_events_of_a_chain_is_caught(trail):
    first, second = trail[2], trail[3]
    with as_owner() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET chain_pos = -chain_pos WHERE id IN (%s, %s)",
            [first.pk, second.pk],
        )
        cursor.execute(
            "UPDATE audit_auditevent SET chain_pos = %s WHERE id = %s",
            [first.chain_pos, second.pk],
        )
        cursor.execute(
            "UPDATE audit_auditevent SET chain_pos = %s WHERE id = %s",
            [second.chain_pos, first.pk],
        )

    moved = AuditEvent.objects.get(pk=second.pk)
    assert failure().startswith(f"Audit chain BROKEN at {at(moved)}: previous-hash link")


def test_owner_inserting_a_forged_event_into_a_chain_is_caught(trail):
    target = middle(trail)
    with as_owner() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_chain")
        cursor.execute(
            "UPDATE audit_auditevent SET chain_pos = -(chain_pos + 1) "
            "WHERE chain_key = %s AND chain_pos > %s",
            [target.chain_key, target.chain_pos],
        )
        cursor.execute(
            "UPDATE audit_auditevent SET chain_pos = -chain_pos "
            "WHERE chain_key = %s AND chain_pos < 0",
            [target.chain_key],
        )
        # a well-formed event, linked to the one before it and hashed like the trigger does
        cursor.execute(
            "INSERT INTO audit_auditevent (chain_seq, chain_key, chain_pos, occurred_at, "
            "table_name, record_pk, action, old_data, new_data, app_user_id, app_username, "
            "reason, context, db_user, prev_hash, row_hash, legacy_hash) "
            "SELECT chain_seq + 500000, chain_key, chain_pos + 1, occurred_at, table_name, "
            "record_pk, 'UPDATE', new_data, jsonb_set(new_data, '{initials}', '\"QQQ\"'), "
            "app_user_id, app_username, 'Forged', context, db_user, row_hash, '', '' "
            "FROM audit_auditevent WHERE id = %s",
            [target.pk],
        )
        cursor.execute(
            "UPDATE audit_auditevent e SET row_hash = encode(sha256(convert_to("
            "e.prev_hash || audit_canonical(e), 'UTF8')), 'hex') WHERE reason = 'Forged'"
        )
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_chain")

    assert failure().startswith(
        f"Audit chain BROKEN at {at(target, target.chain_pos + 2)}: previous-hash link"
    )


def test_owner_moving_an_event_to_another_subjects_chain_is_caught(trail, subject_b):
    target = middle(trail)
    with as_owner() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET chain_key = %s, chain_pos = "
            "(SELECT max(chain_pos) + 1 FROM audit_auditevent WHERE chain_key = %s) "
            "WHERE id = %s",
            [subject_b.pk, subject_b.pk, target.pk],
        )

    assert failure().startswith(
        f"Audit chain BROKEN at {at(target, target.chain_pos + 1)}: position "
        f"{target.chain_pos} is missing"
    )


# --- one subject's chain (a casebook's own trail) ---------------------------------------------


def test_one_subjects_chain_verifies_on_its_own(trail, subject_a, subject_b):
    report = verify_subject_chain(subject_a)
    assert report.intact
    assert report.events == len(trail)
    assert verify("--subject", str(subject_a.pk)).strip() == (
        f"Audit chain intact: Subject {subject_a.pk}'s chain: {len(trail)} events verified; "
        "not anchored yet."
    )


def test_tampering_with_one_subjects_chain_leaves_the_others_verified(trail, subject_a, subject_b):
    target = middle(trail)
    with as_owner() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = 'x' WHERE id = %s", [target.pk])

    assert verify_subject_chain(subject_b.pk).intact
    broken = verify_subject_chain(subject_a)
    assert not broken.intact
    assert broken.broken.chain_pos == target.chain_pos
    assert failure("--subject", str(subject_a.pk)) == (
        f"Audit chain BROKEN at {at(target)}: content does not match its hash "
        f"({target.chain_pos - 1} events before it verified)."
    )
    report = verify_chain(chains=[subject_b.pk])
    assert (report.broken, report.chains) == (None, 1)


def test_tampering_as_owner_leaves_the_app_login_in_place(trail):
    with as_owner() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] != settings.DB_APP_ROLE

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == settings.DB_APP_ROLE


def test_a_lab_result_written_goes_on_its_panels_subjects_chain(subject_a, coordinator_a):
    from safety.models import LabPanel, LabResult

    with transaction.atomic():
        lock_audit_chain(subject_a)
        panel = LabPanel.objects.create(
            subject=subject_a, sample_date=subject_a.site.today(), recorded_by=coordinator_a
        )
        result = LabResult.objects.create(panel=panel, analyte="hb", unit="g/L", value=121)

    written = AuditEvent.objects.filter(
        table_name__in=["safety_labpanel", "safety_labresult"], action="INSERT"
    )
    assert {(e.table_name, e.record_pk, e.chain_key) for e in written} == {
        ("safety_labpanel", str(panel.pk), subject_a.pk),
        ("safety_labresult", str(result.pk), subject_a.pk),
    }
    assert verify_chain(chains=[subject_a.pk]).broken is None


def test_an_event_moved_to_another_chain_with_both_chains_rehashed_is_caught(trail, subject_b):
    target = middle(trail)
    with as_owner() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET chain_key = %s, chain_pos = "
            "(SELECT max(chain_pos) + 1 FROM audit_auditevent WHERE chain_key = %s) "
            "WHERE id = %s",
            [subject_b.pk, subject_b.pk, target.pk],
        )
        # close the gap on A's chain and re-hash both chains, as the owner covering tracks
        cursor.execute(
            "UPDATE audit_auditevent SET chain_pos = -(chain_pos - 1) "
            "WHERE chain_key = %s AND chain_pos > %s",
            [target.chain_key, target.chain_pos],
        )
        cursor.execute("UPDATE audit_auditevent SET chain_pos = -chain_pos WHERE chain_pos < 0")
        for key in (target.chain_key, subject_b.pk):
            cursor.execute(REHASH_CHAIN.replace("%(key)s", str(int(key))))
    moved = AuditEvent.objects.get(pk=target.pk)

    assert failure().startswith(
        f"Audit chain BROKEN at {at(moved)}: is on the wrong chain: its row belongs to "
        f"subject {target.chain_key}'s chain"
    )


REHASH_CHAIN = """
DO $$ DECLARE r record; prev text := repeat('0', 64); BEGIN
  FOR r IN SELECT id FROM audit_auditevent WHERE chain_key = %(key)s ORDER BY chain_pos LOOP
    UPDATE audit_auditevent e SET prev_hash = prev,
        row_hash = encode(sha256(convert_to(prev || audit_canonical(e), 'UTF8')), 'hex')
      WHERE id = r.id RETURNING row_hash INTO prev;
  END LOOP;
END $$;
"""
