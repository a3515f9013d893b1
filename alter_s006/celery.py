"""The Celery app: broker REDIS_URL; without it, tasks run eagerly (see settings)."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alter_s006.settings")

app = Celery("alter_s006")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(bind=True)
def ping(self):
    """Answer with the worker's hostname: proves a real worker took the task from Redis."""
    return {"pong": True, "hostname": self.request.hostname}


@signals.worker_init.connect
def _refuse_unsafe_database_login(**kwargs):
    """A worker writes clinical data too: it must not start on a superuser login.

    Celery logs and swallows a signal handler's exceptions; SystemExit stops the worker.
    """
    from audit.db_roles import UnsafeDatabaseLogin, verify_app_login_at_startup

    try:
        verify_app_login_at_startup()
    except UnsafeDatabaseLogin as exc:
        raise SystemExit(str(exc)) from exc
