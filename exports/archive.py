"""Casebook batches and the site archive (issue 15 §1): a zip of one PDF/A-3b casebook per
subject (each with the subject's ODM snapshot embedded), and for a site archive also the
blank CRF book, the annotated CRF, a contents PDF (every file with its subject, status, size
and SHA-256, then a page saying how the archive was made) and a ``SHA256SUMS`` file.

The subjects are the job's (its site, which the requesting user may export): nothing else is
read. One casebook is rendered at a time and written to the zip at once: memory holds one
subject's PDF, whatever the size of the site.
"""

from __future__ import annotations

import hashlib
import platform
import zipfile
from collections.abc import Callable

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from alter_s006.sql import id_array
from exports.casebook import subject_casebook
from exports.models import ExportJob
from subjects.models import Subject


def software_version() -> str:
    """The code that made the file: the git commit when the checkout has one."""
    head = settings.BASE_DIR / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (settings.BASE_DIR / ".git" / ref[5:]).read_text().strip()[:12]
        return ref[:12]
    except OSError:
        return "unknown"


def write_archive(
    job: ExportJob, out, *, subject_ids: list[int], progress: Callable[[int, int], None]
) -> list[dict]:
    """Write the zip on ``out``; return its table of contents."""
    site_archive = job.kind == ExportJob.Kind.SITE_ARCHIVE
    subjects = (
        Subject.objects.select_related("site")
        .filter(pk__in=id_array(subject_ids))
        .order_by("site__code", "screening_number")
    )
    total = len(subject_ids) + (1 if site_archive else 0)
    contents: list[dict] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for i, subject in enumerate(subjects.iterator(chunk_size=200)):
            name = f"casebooks/{subject.site.code}/{subject.screening_number}.pdf"
            _add(zf, contents, name, subject_casebook(subject, user=job.requested_by), subject)
            progress(i + 1, total)
        if site_archive:
            from exports.crf_book import annotated_crf_pdf, blank_crf_pdf

            _add(zf, contents, "blank-crf-book.pdf", blank_crf_pdf())
            _add(zf, contents, "annotated-crf.pdf", annotated_crf_pdf())
            zf.writestr("00-contents.pdf", contents_pdf(job, contents))
            progress(total, total)
        zf.writestr("SHA256SUMS", "".join(f"{c['sha256']}  {c['name']}\n" for c in contents))
    return contents


def _add(zf, contents: list[dict], name: str, data: bytes, subject=None) -> None:
    zf.writestr(name, data)
    contents.append(
        {
            "name": name,
            "subject": subject.subject_number or subject.screening_number if subject else "",
            "status": subject.get_status_display() if subject else "",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    )


def contents_pdf(job: ExportJob, contents: list[dict]) -> bytes:
    from exports.pdf import render_pdf

    context = {
        "study": "ALTER-S006",
        "site": job.site,
        "job": job,
        "contents": contents,
        "made_at": timezone.now(),
        "made_by": job.requested_by.get_full_name() or job.requested_by.get_username(),
        "version": software_version(),
        "python": platform.python_version(),
        "casebooks": sum(1 for c in contents if c["subject"]),
    }
    return render_pdf("exports/pdf/archive_contents.html", context, title=_("Site archive"))
