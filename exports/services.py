"""The one way in for export jobs (issue 15 §4): start one (idempotent: a double click gets the
job already running), run it (the Celery task calls ``run_job``), hand its file out, expire it.

Who may export what: every role may export the sites where it has the EXPORT permission; only a
user with every site (a data manager) may export the whole study. The subjects a job reads are
fixed by its site, never by anything the client sends later.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import Action, get_access
from accounts.models import Site
from alter_s006 import protocol as P
from audit.context import set_actor
from audit.events import record_event
from audit.models import AuditEvent
from exports.models import ExportJob

log = logging.getLogger(__name__)
Kind, Status = ExportJob.Kind, ExportJob.Status

EXTENSIONS = {
    Kind.CSV: "zip",
    Kind.ODM_SNAPSHOT: "xml",
    Kind.ODM_TRANSACTIONAL: "xml",
    Kind.CASEBOOKS: "zip",
    Kind.SITE_ARCHIVE: "zip",
}


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def exportable_site_ids(user) -> list[int] | None:
    """Sites the user may export (None: every site, the whole study)."""
    return get_access(user).sites_where(Action.EXPORT)


def check_scope(user, kind: str, site_id: int | None) -> Site | None:
    """The site asked for, if the user may export it; the whole study only for data managers.

    A site the user may not see is "no such site" (422 / message by the field), never a hint
    that it exists."""
    if kind not in Kind.values:
        raise _error("kind", _("No such export."), "invalid_kind")
    allowed = exportable_site_ids(user)
    if site_id is None:
        if allowed is not None:
            raise PermissionDenied(_("Only a data manager may export the whole study."))
        if kind == Kind.SITE_ARCHIVE:
            raise _error("site", _("A site archive is made for one site."), "site_required")
        return None
    site = Site.objects.filter(pk=site_id).first()
    if site is None or (allowed is not None and site.pk not in allowed):
        raise _error("site", _("No such site."), "not_found")
    return site


def start_export(
    *, user, kind: str, site_id: int | None = None, queue: bool = True
) -> tuple[ExportJob, bool]:
    """Queue an export; (job, created). The same person asking for the same export while it
    is queued or running gets that job (the database's unique condition decides).
    ``queue=False``: the caller runs it itself (``run_job``; the management command)."""
    site = check_scope(user, kind, site_id)
    active = ExportJob.objects.active().filter(requested_by=user, kind=kind, site=site).first()
    if active is not None:
        return active, False
    try:
        with transaction.atomic():
            job = ExportJob.objects.create(requested_by=user, kind=kind, site=site)
            _event(job, "export_requested", user=user)
    except IntegrityError:
        job = ExportJob.objects.active().get(requested_by=user, kind=kind, site=site)
        return job, False
    if queue:
        from exports.tasks import run_export

        queue = settings.EXPORT_QUEUE
        transaction.on_commit(lambda: run_export.apply_async(args=[job.pk], queue=queue))
    return job, True


def _event(job: ExportJob, event: str, *, user=None, **detail) -> None:
    """One step of an export on the audit trail (the study-level chain)."""
    record_event(
        action=AuditEvent.Action.WORKFLOW,
        user=user or job.requested_by,
        table=ExportJob._meta.db_table,
        record_pk=job.pk,
        detail={
            "event": event,
            "kind": job.kind,
            "site": job.site.code if job.site_id else "",
            **detail,
        },
        context="export",
    )


def jobs_for(user):
    """Jobs listed on the Exports page: a data manager sees every job, others their own."""
    qs = ExportJob.objects.select_related("requested_by", "site")
    return qs if exportable_site_ids(user) is None else qs.filter(requested_by=user)


def job_for(user, pk) -> ExportJob:
    from django.http import Http404

    job = jobs_for(user).filter(pk=pk).first()
    if job is None:
        raise Http404(_("No such export."))
    return job


# --- running --------------------------------------------------------------------------------


def path_of(job: ExportJob) -> Path:
    return Path(settings.EXPORT_DIR) / job.filename


def subject_ids_of(job: ExportJob) -> list[int]:
    from subjects.models import Subject

    qs = Subject.objects.order_by("site__code", "screening_number")
    if job.site_id is not None:
        qs = qs.filter(site_id=job.site_id)
    return list(qs.values_list("pk", flat=True))


class _Progress:
    """done / total of a running job, written at most once per EXPORT_PROGRESS_EVERY steps on
    a connection of its own (each write committed at once): a writer that reads in one long
    transaction (the ODM's consistent snapshot, read only) would otherwise hide it until the
    end, or refuse it."""

    def __init__(self, job_id: int):
        self.job_id, self.done, self.total, self.last = job_id, 0, 0, -1
        self.conn = None

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if done == total or done - self.last >= P.EXPORT_PROGRESS_EVERY or done <= 1:
            self.last = done
            if self.conn is None:
                self.conn = connections.create_connection(DEFAULT_DB_ALIAS)
            table = ExportJob._meta.db_table
            with self.conn.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET done = %s, total = %s WHERE id = %s",  # noqa: S608
                    [done, total, self.job_id],
                )

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _claim(job_id: int) -> ExportJob | None:
    """Mark a queued job running (a task delivered twice runs it once)."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != Status.QUEUED:
            return None
        job.status, job.started_at = Status.RUNNING, timezone.now()
        stamp = job.started_at.strftime("%Y%m%dT%H%M%SZ")
        scope = job.site.code if job.site_id else "study"
        job.filename = f"alter-s006_{job.kind}_{scope}_{stamp}_{job.pk}.{EXTENSIONS[job.kind]}"
        job.save(update_fields=["status", "started_at", "filename"])
        return job


def run_job(job_id: int) -> ExportJob | None:
    """Write the job's file to a temporary name, then move it into place with its size and
    SHA-256; a failure is kept on the job (the page shows it), the partial file removed."""
    job = _claim(job_id)
    if job is None:
        return None
    set_actor(job.requested_by, context="export")
    final = path_of(job)
    partial = final.with_suffix(final.suffix + ".part")
    progress = _Progress(job.pk)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as out:
            write(job, out, progress)
        os.replace(partial, final)
    except Exception as exc:  # noqa: BLE001 - any failure is shown on the job, then re-raised
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        log.exception("export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            status=Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        _event(job, "export_failed", error=type(exc).__name__)
        raise
    finally:
        progress.close()
    job.size, job.sha256 = final.stat().st_size, sha256_of(final)
    job.status, job.finished_at = Status.DONE, timezone.now()
    job.expires_at = job.finished_at + dt.timedelta(days=P.EXPORT_RETENTION_DAYS)
    job.done = job.total = max(progress.total, 1)
    job.save(
        update_fields=["size", "sha256", "status", "finished_at", "expires_at", "done", "total"]
    )
    _event(job, "export_made", file=job.filename, size=job.size, sha256=job.sha256)
    return job


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def scope_text(job: ExportJob) -> str:
    return str(job.site) if job.site_id else _("whole study")


def write(job: ExportJob, out, progress) -> None:
    """The writer of each kind."""
    ids = subject_ids_of(job)
    by = job.requested_by.get_username()
    if job.kind == Kind.CSV:
        from exports.csv_export import write_csv_zip

        write_csv_zip(out, subject_ids=ids, scope=scope_text(job), by=by, progress=progress)
    elif job.kind in (Kind.ODM_SNAPSHOT, Kind.ODM_TRANSACTIONAL):
        from exports.odm import write_odm

        file_type = "Snapshot" if job.kind == Kind.ODM_SNAPSHOT else "Transactional"
        write_odm(out, subject_ids=ids, file_type=file_type, progress=progress)
    else:
        from exports.archive import write_archive

        write_archive(job, out, subject_ids=ids, progress=progress)


# --- handing out, expiring --------------------------------------------------------------------


def open_download(*, user, job: ExportJob):
    """The file of a finished job, its download written to the audit trail."""
    if job.status != Status.DONE or not path_of(job).exists():
        raise _error("job", _("This export has no file to download."), "not_ready")
    _event(job, "export_downloaded", user=user, file=job.filename, sha256=job.sha256)
    return open(path_of(job), "rb")


def expire_exports(now: dt.datetime | None = None) -> int:
    """Delete the files whose time is up; the job rows stay (who, what, when, SHA-256)."""
    now = now or timezone.now()
    n = 0
    for job in ExportJob.objects.filter(status=Status.DONE, expires_at__lte=now):
        path_of(job).unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job.pk).update(status=Status.EXPIRED)
        _event(job, "export_expired", file=job.filename)
        n += 1
    return n
