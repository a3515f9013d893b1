"""Celery tasks of the exports: each takes an id and calls the service (STYLE.md)."""

from celery import shared_task

from exports import services


@shared_task(acks_late=True)
def run_export(job_id: int) -> str:
    job = services.run_job(job_id)
    return job.status if job is not None else "skipped"


@shared_task
def expire_exports() -> int:
    return services.expire_exports()
