"""Export jobs (issue 15 §4, §5): who may export what, one job per double click, the file with
its size and SHA-256, a failure shown, expiry, the audit trail; the Exports page, its progress
block and the download; the API; a real Celery worker runs a job taken from Redis."""

import datetime as dt
import hashlib
import io
import time
import zipfile

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from exports import services
from exports.metadata import catalogue
from exports.models import ExportJob
from exports.tasks import run_export
from tests.exports.worker import export_worker
from tests.factories import make_subject
from tests.subjects.test_api import Api


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def subjects(site_a, site_b, coordinator_a, coordinator_b):
    return {
        "a": make_subject(site_a, coordinator_a, initials="ZWL"),
        "b": make_subject(site_b, coordinator_b, initials="LXM"),
    }


def codes(exc) -> dict:
    return {f: [e.code for e in errs] for f, errs in exc.value.error_dict.items()}


def events(job) -> list[str]:
    rows = AuditEvent.objects.filter(table_name="exports_exportjob", record_pk=str(job.pk))
    return [r.new_data["event"] for r in rows.order_by("chain_seq")]


def test_a_coordinator_exports_their_site_not_another_nor_the_study(cast, subjects):
    coord = cast["coordinator_a"]
    job, created = services.start_export(user=coord, kind="csv", site_id=coord_site(coord))
    assert created and job.site.code == "GZ01"
    with pytest.raises(ValidationError) as exc:
        services.start_export(user=coord, kind="csv", site_id=subjects["b"].site_id)
    assert codes(exc) == {"site": ["not_found"]}
    with pytest.raises(PermissionDenied):
        services.start_export(user=coord, kind="csv", site_id=None)
    assert ExportJob.objects.count() == 1


def coord_site(user):
    return user.memberships.get().site_id


def test_only_a_data_manager_exports_the_whole_study(cast, subjects):
    job, created = services.start_export(user=cast["data_manager"], kind="odm_snapshot")
    assert created and job.site is None
    with pytest.raises(PermissionDenied):
        services.start_export(user=cast["monitor_a"], kind="odm_snapshot")


def test_an_unknown_kind_is_refused_by_the_field(cast):
    with pytest.raises(ValidationError) as exc:
        services.start_export(user=cast["data_manager"], kind="pdf_everything")
    assert codes(exc) == {"kind": ["invalid_kind"]}


def test_a_double_click_starts_one_job(cast, subjects):
    dm = cast["data_manager"]
    first, created = services.start_export(user=dm, kind="csv")
    again, created_again = services.start_export(user=dm, kind="csv")
    assert (created, created_again) == (True, False) and again.pk == first.pk
    # another export, or the same one for a site, is another job
    other, _ = services.start_export(user=dm, kind="csv", site_id=subjects["a"].site_id)
    assert other.pk != first.pk


def test_the_database_refuses_a_second_active_job_whatever_the_path(cast):
    from django.db import IntegrityError, transaction

    dm = cast["data_manager"]
    ExportJob.objects.create(requested_by=dm, kind="csv")
    with pytest.raises(IntegrityError), transaction.atomic():
        ExportJob.objects.create(requested_by=dm, kind="csv")


def test_a_job_writes_its_file_with_size_and_sha256_and_is_audited(cast, subjects):
    dm = cast["data_manager"]
    job, _ = services.start_export(user=dm, kind="csv", site_id=subjects["a"].site_id)
    job = services.run_job(job.pk)
    path = services.path_of(job)
    data = path.read_bytes()
    assert job.status == "done" and job.size == len(data)
    assert job.sha256 == hashlib.sha256(data).hexdigest()
    assert job.expires_at == job.finished_at + dt.timedelta(days=7)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        subjects_csv = zf.read("subjects.csv").decode()
    assert subjects["a"].screening_number in subjects_csv
    assert subjects["b"].screening_number not in subjects_csv
    assert events(job) == ["export_requested", "export_made"]
    assert services.run_job(job.pk) is None  # delivered twice: runs once


def test_a_failing_job_says_why_and_leaves_no_file(cast, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.EXPORT_DIR = blocker  # the export directory cannot be made
    job, _ = services.start_export(user=cast["data_manager"], kind="csv")
    with pytest.raises(OSError):
        services.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and job.error.startswith(
        ("FileExistsError", "NotADirectoryError")
    )
    assert events(job) == ["export_requested", "export_failed"]


def test_files_expire_after_seven_days_and_the_record_stays(cast):
    job, _ = services.start_export(user=cast["data_manager"], kind="csv")
    job = services.run_job(job.pk)
    path = services.path_of(job)
    assert services.expire_exports(now=job.finished_at + dt.timedelta(days=6, hours=23)) == 0
    assert path.exists()
    assert services.expire_exports(now=job.finished_at + dt.timedelta(days=7)) == 1
    job.refresh_from_db()
    assert not path.exists() and job.status == "expired" and job.sha256
    assert events(job)[-1] == "export_expired"


# --- pages ----------------------------------------------------------------------------------


def login(client, user):
    client.force_login(user)
    return client


def test_the_exports_page_starts_a_job_and_shows_its_progress(client, cast, subjects):
    c = login(client, cast["coordinator_a"])
    page = c.get(reverse("exports:list"))
    assert page.status_code == 200
    sites = page.context["form"].fields["site"].choices
    assert [code for code, _ in sites] == [subjects["a"].site_id]  # own site only, no "study"
    r = c.post(reverse("exports:list"), {"kind": "csv", "site": subjects["a"].site_id})
    job = ExportJob.objects.get()
    assert r.status_code == 302 and r.url == reverse("exports:job", args=[job.pk])
    progress = c.get(reverse("exports:progress", args=[job.pk]))
    assert b'hx-trigger="every 1s"' in progress.content  # queued: the block polls itself
    services.run_job(job.pk)
    progress = c.get(reverse("exports:progress", args=[job.pk]))
    assert b"hx-trigger" not in progress.content and b"export-download" in progress.content
    download = c.get(reverse("exports:download", args=[job.pk]))
    job.refresh_from_db()
    assert download.status_code == 200
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == job.sha256
    assert events(job)[-1] == "export_downloaded"


def test_bad_input_on_the_page_is_a_422_by_the_field_and_starts_nothing(client, cast, subjects):
    c = login(client, cast["coordinator_a"])
    for data in (
        {"kind": "nope", "site": subjects["a"].site_id},
        {"kind": "csv", "site": "abc"},
        {"kind": "csv", "site": subjects["b"].site_id},  # another site: not offered
        {"kind": "csv"},  # a coordinator must name the site
    ):
        r = c.post(reverse("exports:list"), data)
        assert r.status_code == 422, data
        assert r.context["form"].errors
    assert not ExportJob.objects.exists()


def test_another_users_job_is_404_for_a_coordinator_and_visible_to_the_dm(client, cast):
    job, _ = services.start_export(
        user=cast["coordinator_a"], kind="csv", site_id=coord_site(cast["coordinator_a"])
    )
    services.run_job(job.pk)
    for url in ("exports:job", "exports:progress", "exports:download"):
        r = login(client, cast["coordinator_b"]).get(reverse(url, args=[job.pk]))
        assert r.status_code == 404, url
    c = login(client, cast["data_manager"])
    assert c.get(reverse("exports:job", args=[job.pk])).status_code == 200
    listed = c.get(reverse("exports:list")).context["page"].object_list
    assert [j.pk for j in listed] == [job.pk]


def test_the_list_costs_the_same_queries_for_1_and_30_jobs(
    client, cast, django_assert_max_num_queries
):
    from django.test.utils import CaptureQueriesContext

    dm = cast["data_manager"]
    c = login(client, dm)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(reverse("exports:list")).status_code == 200
        return len(ctx.captured_queries)

    ExportJob.objects.create(requested_by=dm, kind="csv", status="done")
    one = count()
    ExportJob.objects.bulk_create(
        ExportJob(requested_by=dm, kind="csv", status="expired") for _ in range(29)
    )
    assert count() == one


# --- API ------------------------------------------------------------------------------------


def test_the_api_starts_polls_and_downloads(client, cast, subjects):
    api = Api(client, cast["data_manager"])
    r = api.post("/exports", {"kind": "csv"})
    assert r.status_code == 201
    job = r.json()
    again = api.post("/exports", {"kind": "csv"})
    assert again.status_code == 200 and again.json()["id"] == job["id"]
    early = api.get(f"/exports/{job['id']}/file")
    assert early.status_code == 409 and early.json()["errors"][0]["code"] == "not_ready"
    services.run_job(job["id"])
    status = api.get(f"/exports/{job['id']}").json()
    assert status["status"] == "done" and status["percent"] == 100 and status["download_url"]
    body = b"".join(client.get(status["download_url"], headers=api._headers()).streaming_content)
    assert hashlib.sha256(body).hexdigest() == status["sha256"]


def test_the_api_refuses_another_site_the_study_and_bad_input(client, cast, subjects):
    api = Api(client, cast["coordinator_a"])
    r = api.post("/exports", {"kind": "csv", "site_id": subjects["b"].site_id})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "not_found"
    assert api.post("/exports", {"kind": "csv"}).status_code == 403
    assert (
        api.post("/exports", {"kind": "nope", "site_id": subjects["a"].site_id}).status_code == 422
    )
    assert api.post("/exports", {"kind": "csv", "site_id": "x"}).status_code == 422
    assert not ExportJob.objects.exists()
    dm_job, _ = services.start_export(user=cast["data_manager"], kind="csv")
    assert api.get(f"/exports/{dm_job.pk}").status_code == 404


# --- a real worker --------------------------------------------------------------------------


@pytest.fixture
def worker_queue():
    with export_worker() as queue:
        yield queue


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_makes_the_file_the_page_then_offers(
    worker_queue, site_a, coordinator_a, data_manager
):
    for initials in ("ZWL", "LXM", "QRS"):
        make_subject(site_a, coordinator_a, initials=initials)
    jobs = [
        ExportJob.objects.create(requested_by=data_manager, kind=kind)
        for kind in ("csv", "odm_transactional")
    ]
    for job in jobs:
        result = run_export.apply_async(args=[job.pk], queue=worker_queue)
        assert result.get(timeout=90) == "done"
        job.refresh_from_db()
        data = services.path_of(job).read_bytes()
        assert hashlib.sha256(data).hexdigest() == job.sha256
        assert time.time() - job.finished_at.timestamp() < 120
        assert job.finished_at <= timezone.now()
    # the progress the page polls, written on the worker's own connection: one step per
    # dataset of the CSV zip (and its dictionary), one per subject of the ODM (read in one
    # read-only transaction, which would refuse the write on its own connection)
    assert (jobs[0].done, jobs[0].total) == (len(catalogue().datasets) + 1,) * 2
    assert (jobs[1].done, jobs[1].total) == (3, 3)


def test_an_odm_job_of_one_site_holds_that_sites_subjects_only(cast, subjects):
    from exports.odm import read_odm

    job, _ = services.start_export(
        user=cast["monitor_a"], kind="odm_transactional", site_id=subjects["a"].site_id
    )
    job = services.run_job(job.pk)
    assert job.status == "done" and job.filename.endswith(".xml")
    text = services.path_of(job).read_text()
    assert 'FileType="Transactional"' in text and 'Archival="Yes"' in text
    assert subjects["a"].screening_number in text
    assert subjects["b"].screening_number not in text
    keys = {key[0] for key in read_odm(services.path_of(job))}
    assert keys <= {subjects["a"].screening_number}


def test_the_api_gives_a_crf_pdf_and_a_casebook_of_its_own_site_only(client, cast, subjects):
    from pypdf import PdfReader

    mine = Api(client, cast["coordinator_a"])
    subject = subjects["a"]
    r = mine.get(f"/crfs/subjects/{subject.pk}/pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert subject.screening_number in text and "ZWL" not in text  # no initials
    book = mine.get(f"/subjects/{subject.pk}/casebook/pdf")
    assert book.status_code == 200 and book.content.startswith(b"%PDF")
    other = Api(client, cast["coordinator_b"])
    assert other.get(f"/crfs/subjects/{subject.pk}/pdf").status_code == 404
    assert other.get(f"/subjects/{subject.pk}/casebook/pdf").status_code == 404
    assert mine.get(f"/crfs/no_such_form/{subject.pk}/pdf").status_code == 404
