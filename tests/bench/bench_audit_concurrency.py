"""Benchmark, run by hand (not collected by the suite):

    .venv/bin/pytest tests/bench/bench_audit_concurrency.py -s -p no:cacheprovider
    (BENCH_SECONDS=5 for longer runs; 3 s per measurement by default)

Issue 12, goal 2: audited writes for different subjects never wait for each other.
1, 4 and 16 writer threads, each with its own connection of the app's login, each saving
its own subject over and over: one save = one transaction that takes the chain lock first
(as the services do, ``lock_audit_chain(subject)``), reads the subject's rows as a
service's checks do, then changes two audited rows (the subject, one of its visits). Two
variants, interleaved in the same run:

- ``per-subject``: the trail as it is now, one hash chain (and lock) per subject;
- ``global lock``: the same saves, each first taking the single lock that used to
  serialise every audited write (``CHAIN_LOCK_KEY``): the behaviour before.

Prints saves/s, the ratio to the 1-writer rate of the same variant, audited rows/s, how
many pg_locks samples (every 10 ms, from another connection) showed a writer waiting on
an advisory lock, and the load average. Goal: per-subject 16 writers >= 2x 1 writer,
0 waits.
"""

from __future__ import annotations

import os
import statistics
import threading
import time

import psycopg
import pytest
from django.db import connection

from audit.chain import verify_chain
from audit.triggers import CHAIN_LOCK_KEY, CHAIN_LOCK_NAMESPACE, lock_key
from subjects.models import Visit
from tests.factories import make_subject

pytestmark = pytest.mark.django_db(transaction=True)

LEVELS = (1, 4, 16)
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
READS = 8  # the service's own reads between the lock and the writes
WAITING_SQL = (  # writers of this database waiting on an advisory lock (a chain lock)
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def app_connect() -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(
        dbname=s["NAME"],
        user=s["USER"],
        password=s["PASSWORD"] or None,
        host=s["HOST"] or None,
        port=s["PORT"] or None,
    )


def save(conn, subject_id: int, visit_id: int, n: int, global_lock: bool) -> None:
    """One CRF save of ``subject_id``: lock, reads, two audited changes, commit."""
    with conn.transaction():
        if global_lock:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
        conn.execute(
            "SELECT pg_advisory_xact_lock(%s, %s), set_config('alter.reason', %s, true)",
            [CHAIN_LOCK_NAMESPACE, lock_key(subject_id), f"bench save {n}"],
        )
        for _ in range(READS // 2):
            conn.execute("SELECT * FROM subjects_subject WHERE id = %s", [subject_id]).fetchall()
            conn.execute(
                "SELECT * FROM subjects_visit WHERE subject_id = %s", [subject_id]
            ).fetchall()
        conn.execute(
            "UPDATE subjects_subject SET updated_at = clock_timestamp(), version = version + 1 "
            "WHERE id = %s",
            [subject_id],
        )
        conn.execute(
            "UPDATE subjects_visit SET updated_at = clock_timestamp() WHERE id = %s", [visit_id]
        )


def run(targets, writers: int, global_lock: bool) -> dict:
    conns = [app_connect() for _ in range(writers)]
    for conn in conns:
        conn.execute("SELECT set_config('alter.context', 'bench', false)")
        conn.commit()
    counts = [0] * writers
    latencies: list[float] = []
    stop = threading.Event()
    start_gate = threading.Barrier(writers + 1)

    def writer(i: int):
        subject_id, visit_id = targets[i]
        start_gate.wait()
        while not stop.is_set():
            t0 = time.perf_counter()
            save(conns[i], subject_id, visit_id, counts[i], global_lock)
            latencies.append(time.perf_counter() - t0)
            counts[i] += 1

    waits, samples = 0, 0
    with app_connect() as observer:
        observer.autocommit = True
        threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
        start_gate.wait()
        began = time.perf_counter()
        while time.perf_counter() - began < SECONDS:
            waiting = observer.execute(WAITING_SQL).fetchone()[0]
            samples += 1
            waits += 1 if waiting else 0
            time.sleep(0.01)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
    for conn in conns:
        conn.close()
    saves = sum(counts)
    return {
        "saves_s": saves / elapsed,
        "rows_s": 2 * saves / elapsed,
        "median_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "waits": waits,
        "samples": samples,
    }


def test_bench_audit_concurrency(site_a, coordinator_a):
    subjects = [make_subject(site_a, coordinator_a, initials="BNC") for _ in range(max(LEVELS))]
    targets = [
        (s.pk, Visit.objects.filter(subject=s).order_by("pk").values_list("pk", flat=True)[0])
        for s in subjects
    ]
    results = {}
    for writers in LEVELS:
        for variant, global_lock in (("per-subject", False), ("global lock", True)):
            results[variant, writers] = run(targets, writers, global_lock)

    print()
    print(
        f"audited saves, {SECONDS:.0f} s each, {os.cpu_count()} cores, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (after the run)"
    )
    print(
        f"{'variant':<12} {'writers':>7} {'saves/s':>8} {'x 1 writer':>10} {'rows/s':>8} "
        f"{'median ms':>9} {'samples with a waiter':>22}"
    )
    for (variant, writers), r in results.items():
        ratio = r["saves_s"] / results[variant, 1]["saves_s"]
        print(
            f"{variant:<12} {writers:>7} {r['saves_s']:>8.1f} {ratio:>10.2f} {r['rows_s']:>8.1f} "
            f"{r['median_ms']:>9.1f} {r['waits']:>11} of {r['samples']:<7}"
        )
    # the per-subject trail: nobody waits on another subject's lock
    assert all(results["per-subject", w]["waits"] == 0 for w in LEVELS)
    assert verify_chain().broken is None  # and the chains the run wrote verify


def _service_writer(subject_pk, user_pk, global_lock, start, stop, out):
    """A forked worker process: correct its own subject through the service, over and over."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from subjects import services
    from subjects.models import Subject

    user = get_user_model().objects.get(pk=user_pk)
    subject = Subject.objects.get(pk=subject_pk)
    saves, latencies = 0, []
    start.wait()
    while not stop.is_set():
        t0 = time.perf_counter()
        with transaction.atomic():
            if global_lock:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
            subject = services.correct_subject(
                subject=subject,
                expected_version=subject.version,
                changes={"initials": "AAB" if saves % 2 else "AAC"},
                by=user,
                reason="bench",
            )
        latencies.append(time.perf_counter() - t0)
        saves += 1
    out.put((saves, statistics.median(latencies) if latencies else 0.0))


def run_services(subjects, user, writers: int, global_lock: bool) -> dict:
    import multiprocessing

    from django.db import connections

    ctx = multiprocessing.get_context("fork")
    start, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    connections.close_all()  # each process opens its own connection
    procs = [
        ctx.Process(
            target=_run_child,
            args=(_service_writer, subjects[i].pk, user.pk, global_lock, start, stop, out),
        )
        for i in range(writers)
    ]
    for proc in procs:
        proc.start()
    time.sleep(1.0)  # let every process load its subject
    waits, samples = 0, 0
    with app_connect() as observer:
        observer.autocommit = True
        start.set()
        began = time.perf_counter()
        while time.perf_counter() - began < SECONDS:
            waits += bool(observer.execute(WAITING_SQL).fetchone()[0])
            samples += 1
            time.sleep(0.01)
        stop.set()
    results = [out.get(timeout=60) for _ in procs]
    elapsed = time.perf_counter() - began
    for proc in procs:
        proc.join(timeout=60)
    saves = sum(n for n, _ in results)
    return {
        "saves_s": saves / elapsed,
        "median_ms": statistics.median(m for _, m in results) * 1000,
        "waits": waits,
        "samples": samples,
    }


def _run_child(target, *args):
    try:
        target(*args)
    except BaseException:
        import traceback

        traceback.print_exc()
        args[-1].put((0, 0.0))
    finally:
        args[-1].close()
        args[-1].join_thread()  # flush the result before leaving
        os._exit(0)  # never run the parent's test teardown in the child


def test_bench_audit_concurrency_through_the_service(site_a, coordinator_a):
    """The same, each writer a process correcting its subject with services.correct_subject
    (what a gunicorn worker does, without HTTP)."""
    subjects = [make_subject(site_a, coordinator_a, initials="BNS") for _ in range(max(LEVELS))]
    results = {}
    for writers in LEVELS:
        for variant, global_lock in (("per-subject", False), ("global lock", True)):
            results[variant, writers] = run_services(subjects, coordinator_a, writers, global_lock)
    print()
    print(
        f"services.correct_subject, {SECONDS:.0f} s each, one process per writer, load "
        f"average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (after the run)"
    )
    print(
        f"{'variant':<12} {'writers':>7} {'saves/s':>8} {'x 1 writer':>10} {'median ms':>9} "
        f"{'samples with a waiter':>22}"
    )
    for (variant, writers), r in results.items():
        ratio = r["saves_s"] / results[variant, 1]["saves_s"]
        print(
            f"{variant:<12} {writers:>7} {r['saves_s']:>8.1f} {ratio:>10.2f} "
            f"{r['median_ms']:>9.1f} {r['waits']:>11} of {r['samples']:<7}"
        )
    assert verify_chain().broken is None
