"""Casebook batches and the site archive (issue 15 §1): one PDF/A-3b casebook per subject of
the site (its ODM embedded), the blank and annotated CRF books, a contents PDF saying how the
archive was made, SHA256SUMS; nothing of another site."""

import hashlib
import io
import zipfile

import pikepdf
import pytest
from django.core.exceptions import ValidationError
from pypdf import PdfReader

from exports import services
from tests.factories import make_subject


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"


def zip_of(job) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(services.path_of(job).read_bytes()))


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_site_archive_holds_the_sites_casebooks_books_contents_and_checksums(
    site_a, site_b, coordinator_a, coordinator_b, data_manager
):
    a = make_subject(site_a, coordinator_a, initials="ZWL")
    b = make_subject(site_b, coordinator_b, initials="LXM")
    job, _ = services.start_export(user=data_manager, kind="site_archive", site_id=site_a.pk)
    job = services.run_job(job.pk)
    assert job.status == "done" and job.done == job.total == 2  # one subject, then the books
    zf = zip_of(job)
    casebook = f"casebooks/GZ01/{a.screening_number}.pdf"
    assert set(zf.namelist()) == {
        casebook,
        "blank-crf-book.pdf",
        "annotated-crf.pdf",
        "00-contents.pdf",
        "SHA256SUMS",
    }
    assert not any(b.screening_number in name for name in zf.namelist())
    sums = dict(line.split("  ")[::-1] for line in zf.read("SHA256SUMS").decode().splitlines())
    assert set(sums) == {casebook, "blank-crf-book.pdf", "annotated-crf.pdf"}
    for name, digest in sums.items():
        assert hashlib.sha256(zf.read(name)).hexdigest() == digest
    with pikepdf.open(io.BytesIO(zf.read(casebook))) as pdf:
        assert pdf.open_metadata().pdfa_status == "3B"
        (attached,) = pdf.attachments.values()
        odm = attached.get_file().read_bytes()
    assert b"http://www.cdisc.org/ns/odm/v1.3" in odm and a.screening_number.encode() in odm
    assert b.screening_number.encode() not in odm
    contents = text_of(zf.read("00-contents.pdf"))
    assert "How this archive was made" in contents and casebook in contents.replace("\n", "")
    assert sums[casebook][:16] in contents.replace("\n", "")
    assert data_manager.username in contents


def test_a_coordinator_gets_a_casebook_batch_of_their_site_not_the_whole_study(
    site_a, coordinator_a, coordinator_b, site_b
):
    a = make_subject(site_a, coordinator_a, initials="ZWL")
    make_subject(site_b, coordinator_b, initials="LXM")
    job, _ = services.start_export(user=coordinator_a, kind="casebooks", site_id=site_a.pk)
    job = services.run_job(job.pk)
    names = zip_of(job).namelist()
    assert names == [f"casebooks/GZ01/{a.screening_number}.pdf", "SHA256SUMS"]


def test_a_site_archive_is_made_for_one_site(data_manager):
    with pytest.raises(ValidationError) as exc:
        services.start_export(user=data_manager, kind="site_archive")
    assert exc.value.error_dict["site"][0].code == "site_required"
