"""render_pdf's safety rails and fonts (issue 15 section 1): the url_fetcher serves only the
project's static files, a render over the time limit is stopped, every font is embedded and
Chinese text is extractable."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from alter_s006 import protocol as P
from exports import pdf
from tests.dosing.conftest import frozen_clock, treated  # noqa: F401
from tests.exports.pdf_data import adverse_event, pike, text_of

STYLESHEET = f"{pdf.PDF_ORIGIN}/static/css/pdf.css"


def test_the_fetcher_serves_the_projects_stylesheet():
    response = pdf.url_fetcher().fetch(STYLESHEET)
    assert response.content_type == "text/css"
    assert b"@page" in response.read()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://example.org/x.png",
        "https://example.org/static/css/pdf.css",
        "data:text/css;base64,Ym9keXt9",
        f"{pdf.PDF_ORIGIN}/media/secret.png",
        f"{pdf.PDF_ORIGIN}/static/../../../etc/passwd",
        f"{pdf.PDF_ORIGIN}/static/%2e%2e/%2e%2e/etc/passwd",
        f"{pdf.PDF_ORIGIN}/static/css/no-such-file.css",
    ],
)
def test_the_fetcher_refuses_everything_else(url):
    with pytest.raises(pdf.PdfResourceRefused):
        pdf.url_fetcher().fetch(url)


def images(pdf_bytes: bytes) -> list:
    with pike(pdf_bytes) as doc:
        return [
            str(name)
            for page in doc.pages
            for name, xobject in (page.Resources.get("/XObject") or {}).items()
            if xobject.get("/Subtype") == "/Image"
        ]


def test_an_image_pointing_at_a_local_file_is_not_embedded(tmp_path):
    from weasyprint import HTML

    local = tmp_path / "secret.png"
    from PIL import Image

    Image.new("RGB", (4, 4), "red").save(local)
    html = f'<html><body><p>x</p><img src="file://{local}"></body></html>'
    # WeasyPrint's own fetcher would read the file and embed it ...
    assert len(images(HTML(string=html).write_pdf())) == 1
    # ... the project's refuses it
    assert images(pdf.html_to_pdf(html)) == []


def test_a_render_over_the_time_limit_is_stopped(monkeypatch):
    """The limit is the protocol's constant; the child rendering is killed when it is up."""
    monkeypatch.setattr(P, "PDF_RENDER_TIMEOUT_SECONDS", 0.05)
    html = "<table>" + "<tr><td>cell</td><td>cell</td></tr>" * 20000 + "</table>"
    with pytest.raises(pdf.PdfRenderTimeout) as caught:
        pdf.html_to_pdf(html)
    assert caught.value.code == "pdf_timeout"


def test_the_time_limit_leaves_an_ordinary_render_alone():
    assert P.PDF_RENDER_TIMEOUT_SECONDS >= 10
    assert pdf.html_to_pdf("<p>ok</p>").startswith(b"%PDF-")


def embedded_fonts(document) -> dict[str, bool]:
    """Base font name -> has an embedded font program, for every font of every page."""
    fonts = {}
    for page in document.pages:
        for font in (page.Resources.get("/Font") or {}).values():
            descendants = font.get("/DescendantFonts")
            described = descendants[0] if descendants is not None else font
            descriptor = described.get("/FontDescriptor")
            fonts[str(font.BaseFont)] = descriptor is not None and any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
    return fonts


@pytest.fixture
def subject(frozen_clock, treated):  # noqa: F811
    return treated


def test_chinese_renders_with_an_embedded_cjk_font(client, subject, coordinator_a, investigator_a):
    ae = adverse_event(subject, coordinator_a, investigator_a, verbatim="血压升高，头痛")
    client.force_login(coordinator_a)
    with translation.override("zh-hans"):
        response = client.get(
            reverse("exports_pdf:crf", args=["adverse_events", ae.pk]),
            headers={"accept-language": "zh-hans"},
        )
    text = text_of(response.content)
    assert "原始描述 血压升高，头痛" in text  # "Verbatim term" in Chinese, then the value
    assert "第 1 页，共 2 页" in text
    with pike(response.content) as doc:
        fonts = embedded_fonts(doc)
    assert fonts and all(fonts.values()), fonts
    assert any("WenQuanYi" in name for name in fonts), fonts
