"""A real Celery worker takes real tasks from the real Redis."""

import datetime as dt
import os
import subprocess
import sys
import uuid
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from alter_s006.celery import ping
from subjects import services
from subjects.tasks import count_overdue_visits
from tests.factories import enrol, make_subject


def database_url(db: dict) -> str:
    """The URL of the test database (a TCP host, or the embedded server's socket folder)."""
    host = db["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        return f"postgres://{db['USER']}@/{db['NAME']}?host={quote(host)}"
    return f"postgres://{db['USER']}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker():
    """Start `celery worker` on a private queue, pointed at the test database."""
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "REDIS_URL must name a real Redis"
    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": database_url(db),
        "REDIS_URL": settings.CELERY_BROKER_URL,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "alter_s006",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            queue,
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"{queue}@%h",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield queue
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.celery
def test_a_real_worker_answers_a_task_sent_through_redis(worker):
    result = ping.apply_async(queue=worker)
    answer = result.get(timeout=60)
    assert answer["pong"] is True
    assert answer["hostname"].startswith(worker)


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_worker_reads_the_database_the_app_wrote(worker, site_a, coordinator_a):
    # Enrolled 60 days ago with C1D1 56 days ago and nothing recorded: by hand, C1D1 (window
    # closed day -53) and TA1 (C1D1+42 = day -14, window closed day -7) are overdue; C2D1's
    # target is C1D1+21 = day -35, window closed day -32: overdue too. C3D1 = day -14,
    # window closed day -11: overdue. C4D1 = day +7: not yet. SCR was recorded.
    today = site_a.today()
    subject = make_subject(site_a, coordinator_a, consent_date=today - dt.timedelta(days=70))
    scr = subject.visits.get(code="SCR")
    services.record_visit(
        visit=scr,
        expected_version=scr.version,
        actual_date=scr.target_date,
        missed=False,
        note="",
        by=coordinator_a,
    )
    enrol(
        subject,
        by=coordinator_a,
        on_date=today - dt.timedelta(60),
        c1d1=today - dt.timedelta(days=56),
    )
    result = count_overdue_visits.apply_async(queue=worker)
    assert result.get(timeout=60) == 4  # C1D1, C2D1, C3D1, TA1
