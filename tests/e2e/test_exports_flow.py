"""End to end in headless Chromium (issue 15 "What must be shown"): a data manager starts the
whole-study CSV export, watches the progress bar (htmx polling) while a real Celery worker
makes the file, and downloads the zip; its SHA-256 is the one the page shows. The coordinator
of a site is offered only that site."""

import hashlib
import zipfile

import pytest
from django.utils import translation
from playwright.sync_api import expect

from exports.models import ExportJob
from tests.e2e.conftest import login, screenshot
from tests.exports.worker import export_worker
from tests.factories import PASSWORD, make_subject

pytestmark = [pytest.mark.e2e, pytest.mark.celery, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"


def shots(page, name):
    for width in (1280, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1366, "height": 900})


def test_a_data_manager_exports_the_study_and_downloads_the_zip(
    page, settings, tmp_path, site_a, site_b, coordinator_a, coordinator_b, data_manager
):
    a = make_subject(site_a, coordinator_a, initials="ZWL")
    b = make_subject(site_b, coordinator_b, initials="LXM")
    with export_worker() as queue:
        settings.EXPORT_QUEUE = queue
        login(page, data_manager.username, PASSWORD)
        page.goto(page.base + "/exports/")
        page.select_option("#id_kind", "csv")
        page.select_option("#id_site", "")  # the whole study
        shots(page, "exports-list-en")
        page.click("#start-export-submit")
        expect(page.locator("#export-progress progress")).to_be_visible()
        shots(page, "exports-job-running-en")
        expect(page.locator("#export-download")).to_be_visible(timeout=90_000)
        shots(page, "exports-job-done-en")
        sha = page.locator("#export-sha256").inner_text()
        with page.expect_download() as info:
            page.click("#export-download")
        path = tmp_path / "download.zip"
        info.value.save_as(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    with zipfile.ZipFile(path) as zf:
        subjects = zf.read("subjects.csv").decode()
        assert "data_dictionary.csv" in zf.namelist()
    assert a.screening_number in subjects and b.screening_number in subjects
    job = ExportJob.objects.get()
    assert (job.status, job.site, job.requested_by) == ("done", None, data_manager)


def test_a_coordinator_is_offered_their_site_only_in_chinese_too(
    page, site_a, site_b, coordinator_a
):
    login(page, coordinator_a.username, PASSWORD)
    page.goto(page.base + "/exports/")
    options = page.locator("#id_site option").all_inner_texts()
    assert len(options) == 1 and options[0].startswith("GZ01")
    page.select_option("#language-select", "zh-hans")
    page.wait_for_load_state()
    with translation.override("zh-hans"):
        expect(page.locator("h1")).to_have_text(translation.gettext("Exports"))
    shots(page, "exports-list-zh")
