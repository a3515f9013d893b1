"""The one way every PDF of the project is made (issue 15 section 1): a Django template of the
``exports/pdf`` family rendered to HTML (autoescaped: free text is text), then WeasyPrint turns
it into a PDF with three safety rails:

- a ``url_fetcher`` that serves only the project's own static files (the stylesheet), found
  through the staticfiles finders or ``STATIC_ROOT``; ``file:``, ``data:``, any other host or
  scheme is refused, so hostile text such as ``<img src=file:///etc/passwd>`` fetches nothing;
- a time limit (``protocol.PDF_RENDER_TIMEOUT_SECONDS``): the HTML-to-PDF step runs in a forked
  child process that is killed when the time is up, since WeasyPrint's layout cannot be
  interrupted from inside the same process (a thread cannot be stopped, a signal only reaches
  the main thread);
- fonts by family name through fontconfig: the stylesheet names WenQuanYi Micro Hei after
  DejaVu Sans, so Chinese renders, and WeasyPrint embeds the subset of every font used.
"""

from __future__ import annotations

import functools
import io
import mimetypes
import multiprocessing
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from alter_s006 import protocol as P

# The documents' base URL: a host under ``.invalid`` (RFC 2606) that can never resolve, so a
# relative or ``{% static %}`` URL becomes an absolute URL only our fetcher answers.
PDF_ORIGIN = "https://pdf.alter-s006.invalid"
PDF_VARIANT_ARCHIVE = "pdf/a-3b"


class PdfError(Exception):
    """A PDF could not be made; ``code`` says why (the view answers with it)."""

    code = "pdf_failed"


class PdfRenderTimeout(PdfError):
    code = "pdf_timeout"


class PdfResourceRefused(ValueError):
    """A URL the PDF may not fetch (anything but the project's own static files)."""

    code = "pdf_resource_refused"


def static_path(url: str) -> Path:
    """The file behind ``url`` if it is one of the project's static files; else refused."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    prefix = settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/static/"
    if origin != PDF_ORIGIN or not parts.path.startswith(prefix):
        raise PdfResourceRefused(f"refused: {url[:200]}")
    relative = unquote(parts.path[len(prefix) :])
    if not relative or ".." in Path(relative).parts:
        raise PdfResourceRefused(f"refused: {url[:200]}")
    found = finders.find(relative)
    if found is None and settings.STATIC_ROOT:
        candidate = Path(settings.STATIC_ROOT) / relative
        found = str(candidate) if candidate.is_file() else None
    if found is None:
        raise PdfResourceRefused(f"no such static file: {relative}")
    return Path(found)


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves the project's static files; every other URL raises ``PdfResourceRefused``
        (WeasyPrint then leaves the resource out and goes on)."""

        def fetch(self, url, headers=None):
            path = static_path(url)
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})

    return StaticOnlyFetcher


def url_fetcher():
    """A new fetcher of the project's static files only."""
    return _fetcher_class()()


def render_html(template_name: str, context: dict, *, request=None) -> str:
    """The template to HTML with Django's autoescape: free text cannot become markup."""
    return render_to_string(template_name, {**context, "pdf_origin": PDF_ORIGIN}, request=request)


def _attachments(attachments: Iterable[tuple[str, bytes, str]]):
    from weasyprint import Attachment

    return [
        Attachment(file_obj=io.BytesIO(data), name=name, description=description)
        for name, data, description in attachments
    ]


def _write(html: str, options: dict, attachments, conn) -> None:
    """The child: HTML to PDF bytes, sent back through ``conn`` (an error as its text)."""
    try:
        import logging

        from weasyprint import HTML

        logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # no page log

        document = HTML(string=html, base_url=PDF_ORIGIN + "/", url_fetcher=url_fetcher())
        pdf = document.write_pdf(attachments=_attachments(attachments) or None, **options)
        conn.send(("ok", pdf))
    except BaseException as exc:  # the parent raises it as PdfError
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


@functools.cache
def _warm() -> None:
    """Render a one-line document here, once per process, before the first fork: WeasyPrint's
    import, its C type declarations (cffi) and fontconfig are then set up in the parent and
    every forked child inherits them, instead of each child paying for them again (about
    half a second a PDF)."""
    from weasyprint import HTML

    HTML(string="<p>ALTER-S006 中文</p>", url_fetcher=url_fetcher()).write_pdf()


def html_to_pdf(
    html: str, *, options: dict | None = None, attachments=(), timeout: float | None = None
) -> bytes:
    """Render ``html`` in a forked child, killed after ``timeout`` seconds (the protocol's
    limit by default): ``PdfRenderTimeout``. The child touches no database connection."""
    timeout = P.PDF_RENDER_TIMEOUT_SECONDS if timeout is None else timeout
    _warm()
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_write, args=(html, options or {}, list(attachments), child), daemon=True
    )
    process.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise PdfRenderTimeout(
                _("The PDF took longer than %(seconds)s s to make and was stopped.")
                % {"seconds": timeout}
            )
        status, payload = parent.recv()
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        parent.close()
    if status != "ok":
        raise PdfError(payload)
    return payload


def render_pdf(
    template_name: str,
    context: dict,
    *,
    request=None,
    pdf_variant: str | None = None,
    pdf_identifier: bytes | None = None,
    attachments: Iterable[tuple[str, bytes, str]] = (),
    title: str = "",
    timeout: float | None = None,
) -> bytes:
    """Every PDF of the project: ``template_name`` (extending ``exports/pdf/base.html``) with
    ``context`` to PDF. ``pdf_variant="pdf/a-3b"`` with ``pdf_identifier`` for an archival
    file; ``attachments`` are (file name, bytes, description) embedded in the PDF."""
    html = render_html(template_name, {**context, "pdf_title": title}, request=request)
    options = {}
    if pdf_variant:
        options["pdf_variant"] = pdf_variant
    if pdf_identifier:
        options["pdf_identifier"] = pdf_identifier
    return html_to_pdf(html, options=options, attachments=attachments, timeout=timeout)
