"""The Celery app: broker REDIS_URL; without it, tasks run eagerly (see settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alter_s006.settings")

app = Celery("alter_s006")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(bind=True)
def ping(self):
    """Answer with the worker's hostname: proves a real worker took the task from Redis."""
    return {"pong": True, "hostname": self.request.hostname}
