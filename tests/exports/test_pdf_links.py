"""The pages that show a form without the monitoring bar link to its PDF too: the subject page
to the casebook, the lab page to each panel, the tumour overview to each assessment, the
dosing calendar to each dosing event."""

import datetime as dt
from decimal import Decimal

from django.urls import reverse

from safety import services as safety
from tests.dosing.conftest import frozen_clock, treated  # noqa: F401


def test_the_subject_and_lab_pages_link_to_the_pdfs(client, treated, coordinator_a):  # noqa: F811
    client.force_login(coordinator_a)
    page = client.get(reverse("subjects:detail", args=[treated.pk])).content.decode()
    assert reverse("exports_pdf:casebook", args=[treated.pk]) in page
    panel = safety.record_lab_panel(
        subject=treated,
        by=coordinator_a,
        sample_date=dt.date(2026, 3, 1),
        values={"anc": (Decimal("1.2"), "10^9/L")},
    )
    labs = client.get(reverse("safety:labs", args=[treated.pk])).content.decode()
    url = reverse("exports_pdf:crf", args=["lab_panels", panel.pk])
    assert url in labs
    pdf = client.get(url)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
