"""The audit trail records every change, whoever and however it was made (21 CFR 11.10(e)).

Form saves, ``QuerySet.update()`` and raw SQL all pass the same database trigger; logins
and membership changes are on the trail too; and the history page shows who, when, what
and why.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser

import pytest
import time_machine
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role
from audit.chain import verify_chain
from audit.context import audit_context
from audit.models import AuditEvent
from subjects import services
from subjects.models import Subject
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SUBJECT = "subjects_subject"


def updates_of(table: str, pk) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(table_name=table, record_pk=str(pk), action="UPDATE").order_by(
            "chain_seq"
        )
    )


def db_clock() -> dt.datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def correction_form(subject: Subject, **changes) -> dict:
    """What the browser posts from the correction form opened on ``subject``."""
    data = {
        "version": subject.version,
        "sex": subject.sex,
        "date_of_birth": subject.date_of_birth.isoformat() if subject.date_of_birth else "",
        "year_of_birth": subject.year_of_birth or "",
        "initials": subject.initials,
        "consent_date": subject.consent_date.isoformat(),
        "consent_version": subject.consent_version,
    }
    data.update(changes)
    return data


# --- every write path is recorded ---------------------------------------------------------


def test_form_correction_is_recorded_with_the_user_and_the_typed_reason(
    client, coordinator_a, subject_a
):
    client.force_login(coordinator_a)
    reason = "Initials mistyped at registration; source document says ZWM"

    response = client.post(
        reverse("subjects:edit", args=[subject_a.pk]),
        correction_form(subject_a, initials="ZWM", reason=reason),
    )

    assert response.status_code == 302
    [event] = updates_of(SUBJECT, subject_a.pk)
    assert event.app_username == "coord_a"
    assert event.app_user_id == coordinator_a.pk
    assert event.reason == reason
    assert event.context == "web"
    assert event.old_data["initials"] == "ZWL"
    assert event.new_data["initials"] == "ZWM"
    assert event.changes() == [("initials", "ZWL", "ZWM")]


def test_queryset_update_is_recorded_with_the_user_and_reason_of_its_context(
    investigator_a, subject_a
):
    with audit_context(user=investigator_a, reason="Consent re-signed on version 2.2"):
        Subject.objects.filter(pk=subject_a.pk).update(consent_version="2.2")

    [event] = updates_of(SUBJECT, subject_a.pk)
    assert event.app_username == "inv_a"
    assert event.app_user_id == investigator_a.pk
    assert event.reason == "Consent re-signed on version 2.2"
    assert event.changes() == [("consent_version", "2.1", "2.2")]


def test_raw_sql_update_without_any_context_is_still_recorded_with_no_user(subject_a):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE subjects_subject SET initials = 'QQQ' WHERE id = %s", [subject_a.pk])

    [event] = updates_of(SUBJECT, subject_a.pk)
    assert event.old_data["initials"] == "ZWL"
    assert event.new_data["initials"] == "QQQ"
    assert event.app_user_id is None
    assert event.app_username == ""
    assert event.reason == ""
    assert event.context == "database"
    assert event.db_user == settings.DB_APP_ROLE


def test_the_user_and_reason_do_not_outlive_their_context(investigator_a, subject_a):
    with audit_context(user=investigator_a, reason="Typo"):
        Subject.objects.filter(pk=subject_a.pk).update(initials="ZWM")
    Subject.objects.filter(pk=subject_a.pk).update(initials="ZWN")

    first, second = updates_of(SUBJECT, subject_a.pk)
    assert (first.app_username, first.reason) == ("inv_a", "Typo")
    assert (second.app_username, second.reason, second.app_user_id) == ("", "", None)


def test_a_refused_write_inside_an_audit_context_reports_the_real_database_error(
    investigator_a, subject_a
):
    with (
        pytest.raises(IntegrityError, match="subject_birth_date_or_year"),
        transaction.atomic(),
        audit_context(user=investigator_a, reason="Birth date unknown"),
    ):
        Subject.objects.filter(pk=subject_a.pk).update(date_of_birth=None, year_of_birth=None)

    assert updates_of(SUBJECT, subject_a.pk) == []
    Subject.objects.filter(pk=subject_a.pk).update(initials="ZWM")
    [event] = updates_of(SUBJECT, subject_a.pk)
    assert (event.app_username, event.reason) == ("", ""), "the context ended with the block"


def test_an_update_that_changes_nothing_adds_no_audit_row(subject_a):
    Subject.objects.filter(pk=subject_a.pk).update(initials=subject_a.initials)

    assert updates_of(SUBJECT, subject_a.pk) == []


def test_three_corrections_can_be_rebuilt_from_the_trail_alone(
    coordinator_a, investigator_a, subject_a
):
    edits = [
        (coordinator_a, {"initials": "ZWM"}, "Initials mistyped"),
        (investigator_a, {"date_of_birth": dt.date(1980, 7, 15)}, "Day and month swapped"),
        (coordinator_a, {"sex": "M", "consent_version": "2.2"}, "Sex misread; consent v2.2"),
    ]
    for user, changes, reason in edits:
        subject = Subject.objects.get(pk=subject_a.pk)
        services.correct_subject(
            subject=subject,
            expected_version=subject.version,
            changes=changes,
            by=user,
            reason=reason,
        )

    trail = list(
        AuditEvent.objects.filter(table_name=SUBJECT, record_pk=str(subject_a.pk)).order_by(
            "chain_seq"
        )
    )
    assert [e.action for e in trail] == ["INSERT", "UPDATE", "UPDATE", "UPDATE"]
    state = dict(trail[0].new_data)
    for event, (user, changes, reason) in zip(trail[1:], edits, strict=True):
        assert event.old_data == state, "each change starts from the state before it"
        assert (event.app_username, event.reason) == (user.username, reason)
        assert {name for name, _, _ in event.changes()} == set(changes)
        state.update({k: v for k, v in event.new_data.items() if event.old_data.get(k) != v})

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_jsonb(s) FROM subjects_subject s WHERE id = %s", [subject_a.pk])
        stored_row = json.loads(cursor.fetchone()[0])
    assert state == stored_row
    current = Subject.objects.get(pk=subject_a.pk)
    mismatches = {
        f.name: (f.to_python(state[f.column]), getattr(current, f.attname))
        for f in Subject._meta.concrete_fields
        if f.to_python(state[f.column]) != getattr(current, f.attname)
    }
    assert mismatches == {}
    assert (current.initials, current.date_of_birth, current.sex) == (
        "ZWM",
        dt.date(1980, 7, 15),
        "M",
    )
    assert current.version == 4


# --- the database server stamps time and order ------------------------------------------------


def test_client_supplied_time_sequence_and_hashes_are_replaced_by_the_server(subject_a):
    # a workflow event naming no subject goes on the study-level chain, whatever it claims
    last = AuditEvent.objects.filter(chain_key=0).order_by("-chain_pos").first()
    newest = AuditEvent.objects.order_by("-chain_seq").first()
    before = db_clock()

    event = AuditEvent.objects.create(
        chain_seq=999_999,
        chain_key=subject_a.pk,
        chain_pos=1,
        occurred_at=dt.datetime(2001, 1, 1, tzinfo=dt.UTC),
        action=AuditEvent.Action.WORKFLOW,
        app_username="coord_a",
        db_user="postgres",
        prev_hash="e" * 64,
        row_hash="f" * 64,
        legacy_hash="d" * 64,
    )

    after = db_clock()
    stored = AuditEvent.objects.get(pk=event.pk)
    assert before <= stored.occurred_at <= after
    assert (stored.chain_key, stored.chain_pos) == (0, last.chain_pos + 1)
    assert newest.chain_seq < stored.chain_seq < 999_999
    assert stored.prev_hash == last.row_hash
    assert stored.row_hash not in ("f" * 64, "")
    assert stored.legacy_hash == ""
    assert stored.db_user == settings.DB_APP_ROLE
    report = verify_chain()
    assert report.broken is None
    assert report.events == AuditEvent.objects.count()
    # and the caller is handed what was stored, not what it sent
    assert (
        event.chain_seq,
        event.chain_key,
        event.chain_pos,
        event.occurred_at,
        event.row_hash,
        event.db_user,
    ) == (
        stored.chain_seq,
        stored.chain_key,
        stored.chain_pos,
        stored.occurred_at,
        stored.row_hash,
        stored.db_user,
    )


def test_audit_time_is_the_database_clock_even_when_the_app_server_clock_is_wrong(
    investigator_a, subject_a
):
    before = db_clock()
    with (
        time_machine.travel(dt.datetime(2001, 1, 1, 9, 0, tzinfo=dt.UTC), tick=False),
        audit_context(user=investigator_a, reason="Typo"),
    ):
        assert timezone.now().year == 2001
        Subject.objects.filter(pk=subject_a.pk).update(initials="ZWM")
    after = db_clock()

    [event] = updates_of(SUBJECT, subject_a.pk)
    assert before <= event.occurred_at <= after


# --- sign-in, sign-out and access changes -----------------------------------------------------


def test_login_failed_login_and_logout_are_on_the_trail(client, coordinator_a):
    login = reverse("login")

    failed = client.post(login, {"username": "coord_a", "password": "not-the-password-1"})
    assert failed.status_code == 200
    ok = client.post(login, {"username": "coord_a", "password": PASSWORD})
    assert ok.status_code == 302
    out = client.post(reverse("logout"))
    assert out.status_code == 302

    events = list(
        AuditEvent.objects.filter(action__in=["LOGIN", "LOGIN_FAILED", "LOGOUT"]).order_by(
            "chain_seq"
        )
    )
    assert [(e.action, e.app_username) for e in events] == [
        ("LOGIN_FAILED", "coord_a"),
        ("LOGIN", "coord_a"),
        ("LOGOUT", "coord_a"),
    ]
    failed_event, login_event, logout_event = events
    assert failed_event.app_user_id is None
    assert login_event.app_user_id == logout_event.app_user_id == coordinator_a.pk
    assert login_event.new_data["ip"] == "127.0.0.1"
    assert all(e.db_user == settings.DB_APP_ROLE for e in events)
    assert failed_event.occurred_at < login_event.occurred_at < logout_event.occurred_at
    for event in events:  # no password, typed or real, ever reaches the trail
        row = str(AuditEvent.objects.filter(pk=event.pk).values().get())
        assert "not-the-password-1" not in row
        assert PASSWORD not in row


def test_failed_login_for_an_unknown_username_records_the_name_typed(client, db):
    client.post(reverse("login"), {"username": "intruder", "password": "guess-123456"})

    event = AuditEvent.objects.get(action="LOGIN_FAILED")
    assert (event.app_username, event.app_user_id) == ("intruder", None)


def test_membership_role_change_is_recorded(data_manager, coordinator_a, site_a):
    membership = Membership.objects.get(user=coordinator_a, site=site_a)

    with audit_context(user=data_manager, reason="Appointed sub-investigator"):
        Membership.objects.filter(pk=membership.pk).update(role=Role.INVESTIGATOR)

    [event] = updates_of("accounts_membership", membership.pk)
    assert event.changes() == [("role", "coordinator", "investigator")]
    assert (event.app_username, event.reason) == ("dm", "Appointed sub-investigator")


# --- the history page ---------------------------------------------------------------------------


class _TableReader(HTMLParser):
    """Rows of the table with a given id, each a list of whitespace-normalised cell texts."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = []
        elif self.cell is not None and tag in ("br", "div"):
            self.cell.append(" ")

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag == "td" and self.cell is not None:
            self.rows[-1].append(re.sub(r"\s+", " ", "".join(self.cell)).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table_rows(html: str, table_id: str) -> list[list[str]]:
    reader = _TableReader(table_id)
    reader.feed(html)
    return [row for row in reader.rows if row]


def test_history_page_shows_who_when_in_site_and_utc_time_what_changed_and_why(
    client, coordinator_a, subject_a, site_a
):
    client.force_login(coordinator_a)
    reason = "Initials mistyped at registration"
    client.post(
        reverse("subjects:edit", args=[subject_a.pk]),
        correction_form(subject_a, initials="ZWM", reason=reason),
    )
    [event] = updates_of(SUBJECT, subject_a.pk)

    response = client.get(reverse("subjects:history", args=[subject_a.pk]))

    assert response.status_code == 200
    rows = {row[0]: row for row in table_rows(response.content.decode(), "history")}
    seq, when, who, what, change, why = rows[str(event.chain_seq)]
    at_site = timezone.localtime(event.occurred_at, site_a.tz)
    at_utc = event.occurred_at.astimezone(dt.UTC)
    assert at_site.strftime("%Y-%m-%d %H:%M:%S CST") in when  # Asia/Shanghai, UTC+8
    assert at_utc.strftime("%Y-%m-%d %H:%M:%S UTC") in when
    assert who == "coord_a"
    assert what == "Subject · Changed"
    assert change == "initials: ZWL → ZWM"
    assert why == reason


def test_history_page_shows_raw_database_changes_without_an_app_user(client, monitor_a, subject_a):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE subjects_subject SET initials = 'QQQ' WHERE id = %s", [subject_a.pk])
    [event] = updates_of(SUBJECT, subject_a.pk)
    client.force_login(monitor_a)

    response = client.get(reverse("subjects:history", args=[subject_a.pk]))

    rows = {row[0]: row for row in table_rows(response.content.decode(), "history")}
    _, _, who, _, change, why = rows[str(event.chain_seq)]
    assert who == settings.DB_APP_ROLE  # the database role, since no app user was named
    assert change == "initials: ZWL → QQQ"
    assert why == ""
