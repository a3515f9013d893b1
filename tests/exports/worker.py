"""A real Celery worker for the export tests: a private queue, the test database, the test's
export folder (the worker and the web process must see the same files)."""

import os
import subprocess
import sys
import uuid
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

from tests.test_celery import database_url


@contextmanager
def export_worker():
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "EXPORT_DIR": str(settings.EXPORT_DIR),
    }
    command = [
        *(sys.executable, "-m", "celery", "-A", "alter_s006", "worker", "--pool=solo"),
        *("--concurrency=1", "-Q", queue, "--loglevel=WARNING", "--without-heartbeat"),
        *("--without-gossip", "--without-mingle", "-n", f"{queue}@%h"),
    ]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield queue
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
