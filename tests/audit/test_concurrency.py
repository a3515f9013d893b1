"""Audited writes for different subjects never wait for each other (issue 12, goal 2).

Each subject's events are on the subject's own hash chain, locked on its own: two
transactions writing audited rows of two subjects both hold their chain lock at once;
two writing rows of one subject queue on that subject's lock. Observed from a third
connection in ``pg_locks``, not timed.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.db import connection, transaction

from audit.chain import verify_chain
from audit.context import audit_context, lock_audit_chain
from audit.models import AuditEvent
from audit.triggers import CHAIN_LOCK_NAMESPACE
from subjects.models import Subject, Visit

pytestmark = pytest.mark.django_db(transaction=True)

ADVISORY_SQL = (
    "SELECT pid, objid::bigint, granted FROM pg_locks "
    "WHERE locktype = 'advisory' AND classid = %s AND objsubid = 2 AND database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY pid"
)


def app_connect() -> psycopg.Connection:
    """Another connection of the app's own login (another worker)."""
    s = connection.settings_dict
    return psycopg.connect(
        dbname=s["NAME"],
        user=s["USER"],
        password=s["PASSWORD"] or None,
        host=s["HOST"] or None,
        port=s["PORT"] or None,
    )


def advisory_locks(observer) -> list[tuple[int, int, bool]]:
    return observer.execute(ADVISORY_SQL, [CHAIN_LOCK_NAMESPACE]).fetchall()


def in_thread(conn, sql: str, params) -> threading.Thread:
    """Run one audited statement on ``conn`` (its transaction left open) in a thread."""

    def run():
        conn.execute(sql, params)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def own_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_writes_for_two_subjects_hold_their_chain_locks_at_once(subject_a, subject_b):
    with app_connect() as other, app_connect() as observer:
        observer.autocommit = True
        with transaction.atomic():
            lock_audit_chain(subject_a)
            with audit_context(reason="Source document verification", subject=subject_a):
                Subject.objects.filter(pk=subject_a.pk).update(initials="QQA")
            # another worker writes subject B meanwhile: it does not wait
            worker = in_thread(
                other, "UPDATE subjects_subject SET initials = 'QQB' WHERE id = %s", [subject_b.pk]
            )
            worker.join(timeout=10)
            assert not worker.is_alive()

            locks = advisory_locks(observer)
            assert all(granted for _, _, granted in locks)  # nobody waits
            held = {(pid, key) for pid, key, _ in locks}
            assert (own_pid(), subject_a.pk) in held
            assert (other.info.backend_pid, subject_b.pk) in held
            assert (own_pid(), 0) not in held  # not the study-level chain either
        other.commit()

    assert verify_chain().broken is None
    a_events = AuditEvent.objects.filter(chain_key=subject_a.pk, reason__startswith="Source")
    assert a_events.count() == 1
    assert AuditEvent.objects.filter(chain_key=subject_b.pk, new_data__initials="QQB").exists()


def test_writes_for_one_subject_wait_for_its_chain_lock(subject_a, subject_b):
    visit = Visit.objects.filter(subject=subject_a).order_by("pk").first()
    with app_connect() as other, app_connect() as observer:
        observer.autocommit = True
        with transaction.atomic():
            lock_audit_chain(subject_a)
            with audit_context(reason="Source document verification", subject=subject_a):
                Subject.objects.filter(pk=subject_a.pk).update(initials="QQA")
            # another worker writes another row of subject A: it queues on A's chain
            worker = in_thread(
                other, "UPDATE subjects_visit SET updated_at = now() WHERE id = %s", [visit.pk]
            )
            waiting = (other.info.backend_pid, subject_a.pk, False)
            assert wait_for(lambda: waiting in advisory_locks(observer))
            assert worker.is_alive()
            # and only on that lock: nothing else is ungranted
            ungranted = [lock for lock in advisory_locks(observer) if not lock[2]]
            assert ungranted == [waiting]
        worker.join(timeout=10)  # our commit let it through
        assert not worker.is_alive()
        other.commit()

    assert verify_chain().broken is None
    last_two = list(AuditEvent.objects.filter(chain_key=subject_a.pk).order_by("-chain_pos")[:2])
    assert [e.table_name for e in last_two] == ["subjects_visit", "subjects_subject"]
    assert last_two[0].prev_hash == last_two[1].row_hash


def test_without_a_subject_the_lock_is_the_study_level_chain_s(subject_a):
    with transaction.atomic():
        lock_audit_chain()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid = %s AND objsubid = 2 AND pid = pg_backend_pid()",
                [CHAIN_LOCK_NAMESPACE],
            )
            assert cursor.fetchall() == [(0,)]


def test_audit_context_takes_no_study_lock_once_the_subjects_chain_is_locked(subject_a):
    def held() -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid = %s AND objsubid = 2 AND pid = pg_backend_pid()",
                [CHAIN_LOCK_NAMESPACE],
            )
            return {key for (key,) in cursor.fetchall()}

    with transaction.atomic():
        lock_audit_chain(subject_a.pk)
        with audit_context(reason="x"):
            assert held() == {subject_a.pk}
    # a new transaction: the marker went with the last one
    with transaction.atomic(), audit_context(reason="x"):
        assert held() == {0}
    visit = Visit.objects.filter(subject=subject_a)[0]  # a row of the subject names its chain
    with transaction.atomic(), audit_context(reason="x", subject=visit):
        assert held() == {subject_a.pk}
