"""Monitoring through the pages and the API (issue 14 §3–§7): who may freeze, lock, verify
and sign (403, nothing stored; another site 404); a write to held data refused on the page
(by the form, 422) and in the API (423 with the reason); SDV dropped by a correction and
listed; a visit signed, then voided by a change; an unlock that voids signatures asks first."""

import datetime as dt

from django.contrib import admin
from django.db import connection, transaction
from django.test import RequestFactory
from django.urls import reverse

from crfs import services as crfs
from monitoring import services
from monitoring.models import Hold, SdvMark, Signature
from subjects.models import Subject
from tests.factories import PASSWORD
from tests.monitoring.conftest import correct_vitals
from tests.subjects.test_api import Api

FORM = "crfs.vitalsigns"


def vitals_post(**over):
    data = {
        "assessed_on": "2026-01-05",
        "systolic": "128",
        "diastolic": "82",
        "heart_rate": "76",
        "temperature": "36.8",
        "weight": "72.0",
        "height": "",
        "not_done_reason": "",
    }
    return data | over


def test_data_manager_locks_a_subject_and_the_coordinator_cannot_change_its_form(
    client, c1_vitals, data_manager, coordinator_a
):
    subject = c1_vitals.visit.subject
    client.force_login(data_manager)
    placed = client.post(
        reverse("monitoring:hold", args=[subject.pk]),
        {"kind": "lock", "level": "subject", "reason": "Casebook review done"},
    )
    assert placed.status_code == 302
    assert Hold.objects.filter(level="subject", kind="lock", lifted_at=None).count() == 1
    client.force_login(coordinator_a)
    url = reverse("crfs:form", args=[subject.pk, c1_vitals.visit_id, "vital_signs"])
    refused = client.post(url, vitals_post(systolic="131", version="1", reason="typo"))
    assert refused.status_code == 422
    assert (
        "locked" in refused.content.decode() and "Casebook review done" in refused.content.decode()
    )
    c1_vitals.refresh_from_db()
    assert c1_vitals.systolic == 128
    # the API: 423 with the reason, nothing stored
    api = Api(client, coordinator_a)
    put = api.send(
        "PUT",
        f"/visits/{c1_vitals.visit_id}/crfs/vital_signs",
        {
            "assessed_on": "2026-01-05",
            "systolic": 131,
            "diastolic": 82,
            "heart_rate": 76,
            "temperature": "36.8",
            "weight": "72.0",
            "version": 1,
            "reason": "typo",
        },
    )
    assert put.status_code == 423, put.content
    assert put.json()["errors"][0]["code"] == "locked"
    assert "Casebook review done" in put.json()["errors"][0]["message"]
    c1_vitals.refresh_from_db()
    assert c1_vitals.systolic == 128


def test_the_admin_path_obeys_the_lock_too(c1_vitals, data_manager):
    subject = c1_vitals.visit.subject
    services.place_hold(by=data_manager, kind="lock", level="subject", reason="x", subject=subject)
    model_admin = admin.site._registry[Subject]
    request = RequestFactory().post("/admin/")
    request.user = data_manager
    subject.initials = "ZZZ"
    try:
        with transaction.atomic():
            model_admin.save_model(request, subject, form=None, change=True)
    except Exception as exc:  # noqa: BLE001 - the database's refusal, whatever wraps it
        from monitoring.errors import held_from

        assert held_from(exc) is not None
    else:
        raise AssertionError("the admin saved a locked subject")
    assert Subject.objects.get(pk=subject.pk).initials != "ZZZ"


def test_roles_freeze_lock_verify_refused_with_nothing_stored(
    client, c1_vitals, monitor_a, coordinator_a
):
    subject = c1_vitals.visit.subject
    client.force_login(coordinator_a)
    for kind in ("freeze", "lock"):
        r = client.post(
            reverse("monitoring:hold", args=[subject.pk]),
            {"kind": kind, "level": "subject", "reason": "x"},
        )
        assert r.status_code == 403
    r = client.post(
        reverse("monitoring:sdv_action", args=[subject.pk, FORM, c1_vitals.pk]),
        {"action": "verify_all"},
    )
    assert r.status_code == 403
    client.force_login(monitor_a)  # a monitor freezes but never locks
    r = client.post(
        reverse("monitoring:hold", args=[subject.pk]),
        {"kind": "lock", "level": "subject", "reason": "x"},
    )
    assert r.status_code == 403
    assert not Hold.objects.exists() and not SdvMark.objects.exists()
    api = Api(client, monitor_a)
    r = api.post(
        "/holds", {"kind": "lock", "level": "subject", "subject_id": subject.pk, "reason": "x"}
    )
    assert r.status_code == 403
    r = api.post("/holds", {"kind": "freeze", "level": "study", "reason": "x"})
    assert r.status_code == 403
    assert not Hold.objects.exists()


def test_another_sites_monitor_sees_nothing(client, c1_vitals, site_b):
    from accounts.models import Role
    from tests.factories import member

    other = member("mon_b", Role.MONITOR, site_b)
    subject = c1_vitals.visit.subject
    client.force_login(other)
    assert client.get(reverse("monitoring:subject", args=[subject.pk])).status_code == 404
    assert (
        client.get(reverse("monitoring:record", args=[subject.pk, FORM, c1_vitals.pk])).status_code
        == 404
    )
    api = Api(client, other)
    r = api.post("/sdv/verify", {"record_type": FORM, "record_id": c1_vitals.pk})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "not_found"
    assert not SdvMark.objects.exists()


def test_monitor_verifies_then_a_correction_drops_it_and_lists_it(
    client, c1_vitals, monitor_a, coordinator_a
):
    subject = c1_vitals.visit.subject
    client.force_login(monitor_a)
    page = client.get(reverse("monitoring:record", args=[subject.pk, FORM, c1_vitals.pk]))
    assert page.status_code == 200 and 'data-state="not_verified"' in page.content.decode()
    r = client.post(
        reverse("monitoring:sdv_action", args=[subject.pk, FORM, c1_vitals.pk]),
        {"action": "verify_all"},
    )
    assert r.status_code == 302
    assert SdvMark.objects.get(record_id=c1_vitals.pk, field="").state == "verified"
    page = client.get(reverse("monitoring:record", args=[subject.pk, FORM, c1_vitals.pk]))
    assert 'data-state="verified"' in page.content.decode()
    correct_vitals(c1_vitals, coordinator_a, systolic=140)
    dropped = client.get(reverse("monitoring:dropped")).content.decode()
    assert f"#{c1_vitals.pk}" in dropped
    log = client.get(reverse("monitoring:sdv_log")).content.decode()
    assert 'data-kind="added"' in log and 'data-kind="dropped"' in log
    # unverify needs a comment
    services.verify(by=monitor_a, record=c1_vitals, fields=[""])
    r = client.post(
        reverse("monitoring:sdv_action", args=[subject.pk, FORM, c1_vitals.pk]),
        {"action": "unverify", "field": "", "comment": ""},
    )
    assert SdvMark.objects.get(record_id=c1_vitals.pk, field="").state == "verified"
    r = client.post(
        reverse("monitoring:sdv_action", args=[subject.pk, FORM, c1_vitals.pk]),
        {"action": "unverify", "field": "", "comment": "verified against the wrong chart"},
    )
    assert SdvMark.objects.get(record_id=c1_vitals.pk, field="").state == "unverified"


def _unscheduled(subject, by):
    from subjects import services as subject_services

    return subject_services.add_unscheduled_visit(
        subject=subject, by=by, on_date=dt.date(2026, 2, 20), note="headache"
    )


def test_investigator_signs_a_visit_and_a_change_voids_it(
    client, c1_vitals, visit, investigator_a, coordinator_a
):
    subject = c1_vitals.visit.subject
    client.force_login(investigator_a)
    c1 = visit("C1D1")
    sheet = client.get(reverse("monitoring:sign_visit", args=[subject.pk, c1.pk]))
    assert 'id="sign-refused"' in sheet.content.decode()  # C1D1's forms are incomplete
    api = Api(client, investigator_a)
    s = api.get(f"/subjects/{subject.pk}/visits/{c1.pk}/signing").json()
    refused = api.post(
        f"/subjects/{subject.pk}/visits/{c1.pk}/signatures",
        {"password": PASSWORD, "shown_hash": s["content_hash"]},
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "incomplete"
    assert not Signature.objects.exists()
    # a visit whose forms are all there is signed, bound to what was shown
    extra = _unscheduled(subject, coordinator_a)
    review = crfs.save_crf(
        visit=extra,
        form_key="ae_review",
        by=coordinator_a,
        values={"assessed_on": dt.date(2026, 2, 20), "answer": "none", "comment": ""},
    )
    page = client.get(reverse("monitoring:sign_visit", args=[subject.pk, extra.pk]))
    shown = page.context["hash"]
    wrong = client.post(page.request["PATH_INFO"], {"shown_hash": shown, "password": "nope"})
    assert wrong.status_code == 422 and not Signature.objects.exists()
    ok = client.post(page.request["PATH_INFO"], {"shown_hash": shown, "password": PASSWORD})
    assert ok.status_code == 302, ok.context["form"].errors
    signature = Signature.objects.get()
    assert (signature.level, signature.visit_id, signature.content_hash) == (
        "visit",
        extra.pk,
        shown,
    )
    assert signature.printed_name == investigator_a.get_full_name()
    # a change to one form of the visit voids it, visibly
    crfs.save_crf(
        visit=extra,
        form_key="ae_review",
        by=coordinator_a,
        values={"assessed_on": dt.date(2026, 2, 20), "answer": "unchanged", "comment": ""},
        expected_version=review.version,
        reason="a headache was recorded after all",
    )
    signature.refresh_from_db()
    assert signature.voided_at is not None
    history = client.get(reverse("monitoring:subject", args=[subject.pk])).content.decode()
    assert 'data-voided="yes"' in history


def test_unlock_lists_the_signatures_it_voids_and_asks_to_confirm(
    client, c1_vitals, data_manager, investigator_a
):
    subject = c1_vitals.visit.subject
    Signature.objects.create(
        level="casebook",
        subject=subject,
        signed_by=investigator_a,
        printed_name="Dr A",
        meaning="m",
        content_hash="0" * 64,
    )
    hold = services.place_hold(
        by=data_manager, kind="lock", level="subject", reason="x", subject=subject
    )
    client.force_login(data_manager)
    url = reverse("monitoring:lift", args=[hold.pk])
    page = client.get(url).content.decode()
    assert 'id="signatures-to-void"' in page and "Dr A" in page
    r = client.post(url, {"reason": "late AE"})
    assert r.status_code == 422 and Hold.objects.get().lifted_at is None
    r = client.post(url, {"reason": "late AE", "confirm": "on"})
    assert r.status_code == 302
    assert Hold.objects.get().lifted_at is not None
    assert Signature.objects.get().voided_at is not None


def test_matrix_and_worklist_pages(client, c1_vitals, monitor_a, data_manager):
    subject = c1_vitals.visit.subject
    services.place_hold(
        by=data_manager, kind="freeze", level="subject", reason="x", subject=subject
    )
    client.force_login(monitor_a)
    page = client.get(reverse("monitoring:matrix")).content.decode()
    assert f'data-subject="{subject.pk}"' in page and "frozen" in page
    assert client.get(reverse("monitoring:worklist")).status_code == 200
    assert client.get(reverse("monitoring:matrix") + "?site=abc").status_code == 400
    api = Api(client, monitor_a)
    rows = api.get("/subject-matrix").json()
    assert rows[0]["subject_id"] == subject.pk
    icons = {c["code"]: c["icons"] for c in rows[0]["visits"]}
    assert "frozen" in icons["C1D1"]


def test_visit_page_shows_each_crfs_icons_and_the_form_is_read_only_when_held(
    client, c1_vitals, monitor_a, coordinator_a
):
    subject = c1_vitals.visit.subject
    services.verify(by=monitor_a, record=c1_vitals, fields=None)
    services.place_hold(
        by=monitor_a,
        kind="freeze",
        level="record",
        reason="SDV in progress",
        subject=subject,
        record=c1_vitals,
    )
    client.force_login(coordinator_a)
    page = client.get(reverse("crfs:visit", args=[subject.pk, c1_vitals.visit_id])).content.decode()
    row = page[page.index('data-form="vital_signs"') :]
    row = row[: row.index("</tr>")]
    assert 'data-icons="complete verified frozen"' in row
    form = client.get(
        reverse("crfs:form", args=[subject.pk, c1_vitals.visit_id, "vital_signs"])
    ).content.decode()
    assert 'id="held-banner"' in form and "SDV in progress" in form
    assert 'id="read-only-held"' in form and 'id="save-crf"' not in form


def test_sdv_reset_through_the_page_the_api_the_admin_and_raw_sql(
    client, c1_vitals, monitor_a, coordinator_a, data_manager
):
    subject = c1_vitals.visit.subject

    def verified_then(change) -> str:
        services.verify(by=monitor_a, record=c1_vitals, fields=[""])
        assert SdvMark.objects.get(record_id=c1_vitals.pk, field="").state == "verified"
        change()
        return SdvMark.objects.get(record_id=c1_vitals.pk, field="").state

    def page():
        c1_vitals.refresh_from_db()
        client.force_login(coordinator_a)
        url = reverse("crfs:form", args=[subject.pk, c1_vitals.visit_id, "vital_signs"])
        r = client.post(
            url, vitals_post(systolic="132", version=str(c1_vitals.version), reason="typo")
        )
        assert r.status_code == 302

    def api():
        c1_vitals.refresh_from_db()
        r = Api(client, coordinator_a).send(
            "PUT",
            f"/visits/{c1_vitals.visit_id}/crfs/vital_signs",
            {
                "assessed_on": "2026-01-05",
                "systolic": 133,
                "diastolic": 82,
                "heart_rate": 76,
                "temperature": "36.8",
                "weight": "72.0",
                "version": c1_vitals.version,
                "reason": "typo",
            },
        )
        assert r.status_code == 200, r.content

    def raw_sql():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE crfs_vitalsigns SET heart_rate = 70 WHERE id = %s", [c1_vitals.pk]
            )

    for change in (page, api, raw_sql):
        assert verified_then(change) == "changed", change.__name__
    # the admin: its save path reaches the same trigger (a subject row, verified as a form)
    services.verify(by=monitor_a, record=subject, fields=[""])
    request = RequestFactory().post("/admin/")
    request.user = data_manager
    subject.initials = "ABD"
    admin.site._registry[Subject].save_model(request, subject, form=None, change=True)
    assert SdvMark.objects.get(record_type="subjects.subject", record_id=subject.pk).state == (
        "changed"
    )


def test_frozen_data_keep_their_queries_and_a_lock_stops_them(
    c1_vitals, monitor_a, coordinator_a, data_manager
):
    """Frozen: a query is raised and answered, and the data stay frozen; locked: no new
    query, no answer (the database refuses the query's write)."""
    from django.db import DatabaseError

    from monitoring.errors import held_from
    from queries import services as queries

    subject = c1_vitals.visit.subject
    hold = services.place_hold(
        by=monitor_a, kind="freeze", level="subject", reason="SDV", subject=subject
    )
    query = queries.raise_query(
        user=monitor_a,
        subject=subject,
        record_type=FORM,
        record_id=c1_vitals.pk,
        field="systolic",
        text="Chart says 126",
    )
    queries.answer(query=query, user=coordinator_a, text="Source re-read: 128 is right")
    hold.refresh_from_db()
    assert hold.lifted_at is None  # answering does not unfreeze
    services.place_hold(
        by=data_manager, kind="lock", level="subject", reason="DB lock", subject=subject
    )
    for attempt in (
        lambda: queries.raise_query(
            user=monitor_a,
            subject=subject,
            record_type=FORM,
            record_id=c1_vitals.pk,
            field="weight",
            text="Check weight",
        ),
        lambda: queries.close(
            query=type(query).objects.get(pk=query.pk), user=monitor_a, text="ok"
        ),
    ):
        try:
            with transaction.atomic():
                attempt()
        except DatabaseError as exc:
            assert held_from(exc).kind == "lock"
        except Exception as exc:  # noqa: BLE001 - a service refusal naming the lock is fine too
            assert "lock" in str(exc).lower(), exc
        else:
            raise AssertionError("a write went through on locked data")
    query.refresh_from_db()
    assert query.status == "answered"


def test_bulk_signing_signs_the_ticked_ready_visits(
    client, c1_vitals, investigator_a, coordinator_a
):
    subject = c1_vitals.visit.subject
    extra = _unscheduled(subject, coordinator_a)
    crfs.save_crf(
        visit=extra,
        form_key="ae_review",
        by=coordinator_a,
        values={"assessed_on": dt.date(2026, 2, 20), "answer": "none", "comment": ""},
    )
    client.force_login(investigator_a)
    page = client.get(reverse("monitoring:bulk_sign"))
    ready = page.context["ready"]
    assert [v.pk for v in ready] == [extra.pk]  # the other held visits are incomplete
    token = f"{extra.pk}:{ready[0].shown_hash}"
    r = client.post(reverse("monitoring:bulk_sign"), {"visit": [token], "password": PASSWORD})
    assert r.status_code == 302
    assert Signature.objects.get(level="visit").visit_id == extra.pk
    # a hash that is not what was shown signs nothing
    Signature.objects.all().update(voided_at="2026-03-01T00:00:00Z")
    r = client.post(
        reverse("monitoring:bulk_sign"), {"visit": [f"{extra.pk}:{'0' * 64}"], "password": PASSWORD}
    )
    assert Signature.objects.filter(voided_at__isnull=True).count() == 0


def test_screening_page_shows_its_monitoring_bar_and_query_link(client, c1_vitals, monitor_a):
    subject = c1_vitals.visit.subject
    client.force_login(monitor_a)
    page = client.get(reverse("eligibility:screening", args=[subject.pk])).content.decode()
    assert 'id="monitoring-bar"' in page and 'data-sdv="not_verified"' in page
    assert "/queries/raise/eligibility.screening/" in page
