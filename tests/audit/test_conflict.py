"""Optimistic locking: when two people edit one record, the second save never overwrites.

Each edit form carries the version it was opened at. The first save wins; the second is
answered with HTTP 409 and a page showing, field by field, what is stored now and what
the user typed (not saved). The trail holds exactly one change.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import formats

from audit.db_roles import current_role
from audit.models import AuditEvent
from audit.versioning import EditConflict, save_versioned
from subjects import services
from subjects.models import Subject, Visit

pytestmark = pytest.mark.django_db


# --- reading pages like a browser -----------------------------------------------------------


class _FormReader(HTMLParser):
    """The fields a browser would submit from each <form> on a page."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict[str, str]] = []
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({})
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.forms[-1][a["name"]] = a.get("value") or "on"
            elif kind not in ("submit", "button"):
                self.forms[-1][a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.forms[-1][self._select] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.forms[-1][self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.forms[-1][self._textarea] += data


def edit_form(response) -> dict[str, str]:
    """The edit form's fields as the page was served (the one carrying a version)."""
    assert response.status_code == 200
    reader = _FormReader()
    reader.feed(response.content.decode())
    [form] = [f for f in reader.forms if "version" in f]
    form.pop("csrfmiddlewaretoken", None)
    return form


def conflict_rows(response) -> list[tuple[str, str, str]]:
    """(field, saved now, your entry) rows of the conflict page's table."""
    html = response.content.decode()
    table = re.search(r'<table[^>]*id="conflict-table".*?</table>', html, re.S).group(0)
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table, re.S)
    return [tuple(cell.strip() for cell in row) for row in rows]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def updates_of(record) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            table_name=record._meta.db_table, record_pk=str(record.pk), action="UPDATE"
        )
    )


# --- two browsers, one subject ----------------------------------------------------------------


def test_second_of_two_concurrent_subject_edits_gets_the_conflict_page(
    coordinator_a, investigator_a, subject_a
):
    url = reverse("subjects:edit", args=[subject_a.pk])
    coordinator, investigator = logged_in(coordinator_a), logged_in(investigator_a)
    first = edit_form(coordinator.get(url))
    second = edit_form(investigator.get(url))
    assert first["version"] == second["version"] == str(subject_a.version)
    first.update(initials="ZWM", reason="Source document says ZWM")
    second.update(initials="ZWX", reason="Source document says ZWX")

    saved = coordinator.post(url, first)
    refused = investigator.post(url, second)

    assert saved.status_code == 302
    assert refused.status_code == 409
    assert conflict_rows(refused) == [("Initials", "ZWM", "ZWX")]
    page = refused.content.decode()
    assert f"You opened version {subject_a.version}" in page
    assert f"now at version {subject_a.version + 1}" in page
    assert "Nothing of yours was saved" in page
    subject_a.refresh_from_db()
    assert subject_a.initials == "ZWM"
    [event] = updates_of(subject_a)
    assert (event.app_username, event.changes()) == ("coord_a", [("initials", "ZWL", "ZWM")])


def test_after_a_conflict_the_reloaded_form_holds_the_stored_values_and_version(
    coordinator_a, investigator_a, subject_a
):
    url = reverse("subjects:edit", args=[subject_a.pk])
    coordinator, investigator = logged_in(coordinator_a), logged_in(investigator_a)
    first, second = edit_form(coordinator.get(url)), edit_form(investigator.get(url))
    coordinator.post(url, {**first, "consent_version": "2.2", "reason": "Re-consented"})
    assert investigator.post(url, {**second, "initials": "ZWX", "reason": "Typo"}).status_code == (
        409
    )

    reloaded = edit_form(investigator.get(url))
    retried = investigator.post(url, {**reloaded, "initials": "ZWX", "reason": "Typo"})

    assert reloaded["version"] == str(subject_a.version + 1)
    assert reloaded["consent_version"] == "2.2"
    assert retried.status_code == 302
    subject_a.refresh_from_db()
    assert (subject_a.initials, subject_a.consent_version) == ("ZWX", "2.2")
    assert [e.app_username for e in updates_of(subject_a)] == ["coord_a", "inv_a"]


def test_service_refuses_a_stale_version_and_keeps_the_first_save(
    coordinator_a, investigator_a, subject_a
):
    opened_at = subject_a.version
    save_versioned(
        subject_a,
        expected_version=opened_at,
        changes={"initials": "ZWM"},
        by=coordinator_a,
        reason="Source document says ZWM",
    )

    with pytest.raises(EditConflict) as caught:
        save_versioned(
            subject_a,
            expected_version=opened_at,
            changes={"initials": "ZWX", "consent_version": "2.1"},
            by=investigator_a,
            reason="Source document says ZWX",
        )

    conflict = caught.value
    assert conflict.expected_version == opened_at
    assert conflict.current.version == opened_at + 1
    assert conflict.differences() == [("initials", "initials", "ZWM", "ZWX")]
    subject_a.refresh_from_db()
    assert subject_a.initials == "ZWM"
    assert len(updates_of(subject_a)) == 1


# --- visits -----------------------------------------------------------------------------------


@pytest.fixture
def recorded_visit(subject_a, coordinator_a, site_a) -> Visit:
    """The screening visit, already entered once (so changing it needs a reason)."""
    visit = subject_a.visits.get(code="SCR")
    return services.record_visit(
        visit=visit,
        expected_version=visit.version,
        actual_date=site_a.today() - dt.timedelta(days=3),
        missed=False,
        note="",
        by=coordinator_a,
    )


def test_second_of_two_concurrent_visit_corrections_gets_the_conflict_page(
    coordinator_a, investigator_a, subject_a, recorded_visit, site_a
):
    url = reverse("subjects:visit", args=[subject_a.pk, recorded_visit.pk])
    coordinator, investigator = logged_in(coordinator_a), logged_in(investigator_a)
    first, second = edit_form(coordinator.get(url)), edit_form(investigator.get(url))
    assert first["version"] == second["version"] == str(recorded_visit.version)
    day_before, yesterday = site_a.today() - dt.timedelta(days=2), site_a.today() - dt.timedelta(1)
    first.update(actual_date=day_before.isoformat(), note="per clinic log", reason="Wrong day")
    second.update(actual_date=yesterday.isoformat(), note="per diary", reason="Wrong day")
    before = len(updates_of(recorded_visit))

    saved = coordinator.post(url, first)
    refused = investigator.post(url, second)

    assert saved.status_code == 302
    assert refused.status_code == 409
    assert conflict_rows(refused) == [
        ("Actual date", formats.date_format(day_before), formats.date_format(yesterday)),
        ("Note", "per clinic log", "per diary"),
    ]
    recorded_visit.refresh_from_db()
    assert (recorded_visit.actual_date, recorded_visit.note) == (day_before, "per clinic log")
    new_events = updates_of(recorded_visit)[before:]
    assert [(e.app_username, e.reason) for e in new_events] == [("coord_a", "Wrong day")]


def test_visit_service_refuses_a_stale_version(
    coordinator_a, investigator_a, recorded_visit, site_a
):
    opened_at = recorded_visit.version
    services.record_visit(
        visit=recorded_visit,
        expected_version=opened_at,
        actual_date=site_a.today() - dt.timedelta(days=2),
        missed=False,
        note="",
        by=coordinator_a,
        reason="Wrong day",
    )

    with pytest.raises(EditConflict) as caught:
        services.record_visit(
            visit=Visit.objects.get(pk=recorded_visit.pk),
            expected_version=opened_at,
            actual_date=None,
            missed=True,
            note="",
            by=investigator_a,
            reason="Visit did not happen",
        )

    assert [name for name, *_ in caught.value.differences()] == ["actual_date", "missed"]
    recorded_visit.refresh_from_db()
    assert (recorded_visit.actual_date, recorded_visit.missed) == (
        site_a.today() - dt.timedelta(days=2),
        False,
    )


# --- a real race between two database connections -----------------------------------------------


def _waiting_for_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_two_connections_saving_the_same_version_at_once_let_exactly_one_win(
    coordinator_a, investigator_a, subject_a
):
    opened_at = subject_a.version
    results: dict[str, object] = {}
    roles: dict[str, str] = {}

    def correct(user, initials):
        try:
            roles[user.username] = current_role()
            services.correct_subject(
                subject=subject_a,
                expected_version=opened_at,
                changes={"initials": initials},
                by=user,
                reason=f"Source document says {initials}",
            )
            results[user.username] = "saved"
        except EditConflict as exc:
            results[user.username] = exc
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[user.username] = repr(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=correct, args=(coordinator_a, "ZWM")),
        threading.Thread(target=correct, args=(investigator_a, "ZWX")),
    ]
    # Hold the subject's row lock so both writes are issued against the same version
    # before either can commit; then let them go.
    with transaction.atomic():
        Subject.objects.select_for_update().get(pk=subject_a.pk)
        for thread in threads:
            thread.start()
        for _ in range(500):
            if _waiting_for_locks() >= 2 or not any(t.is_alive() for t in threads):
                break
            threading.Event().wait(0.01)
        assert _waiting_for_locks() >= 2, "both edits reached the database together"
    for thread in threads:
        thread.join(timeout=30)

    assert roles == {"coord_a": settings.DB_APP_ROLE, "inv_a": settings.DB_APP_ROLE}
    outcomes = sorted("saved" if r == "saved" else type(r).__name__ for r in results.values())
    assert outcomes == ["EditConflict", "saved"], results
    [winner] = [name for name, r in results.items() if r == "saved"]
    [loser] = [r for r in results.values() if isinstance(r, EditConflict)]
    subject_a.refresh_from_db()
    assert subject_a.initials == {"coord_a": "ZWM", "inv_a": "ZWX"}[winner]
    assert subject_a.version == opened_at + 1
    assert loser.current.initials == subject_a.initials
    [event] = updates_of(subject_a)
    assert event.app_username == winner
    assert event.new_data["initials"] == subject_a.initials


@pytest.mark.django_db
def test_two_first_entries_of_one_visit_conflict_instead_of_asking_for_a_reason(
    subject_a, coordinator_a, investigator_a
):
    from subjects.services import record_visit

    scr = subject_a.visits.get(code="SCR")
    opened_at = scr.version
    record_visit(
        visit=scr,
        expected_version=opened_at,
        actual_date=scr.target_date,
        missed=False,
        note="first",
        by=coordinator_a,
    )
    with pytest.raises(EditConflict) as caught:
        record_visit(
            visit=scr,
            expected_version=opened_at,
            actual_date=scr.target_date,
            missed=False,
            note="second",
            by=investigator_a,
        )
    assert caught.value.current.note == "first"
    scr.refresh_from_db()
    assert scr.note == "first"


@pytest.mark.parametrize(
    ("reason", "code"), [("", "required"), ("   ", "required"), ("x" * 501, "max_length")]
)
def test_a_missing_or_overlong_reason_for_change_is_refused_with_a_code(reason, code):
    from django.core.exceptions import ValidationError

    from audit.versioning import require_reason

    with pytest.raises(ValidationError) as caught:
        require_reason(reason)

    assert [e.code for e in caught.value.error_dict["reason"]] == [code]
