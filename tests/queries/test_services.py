"""The query workflow's services (issue 14 section 1) against PostgreSQL: each action writes
the query and one thread message (or nothing), the database refuses to edit or delete a
message, and marks a closed query closed-modified when its field changes, by any path."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from queries import services
from queries.models import Query, QueryMessage
from safety.services import aes
from tests.safety.conftest import ensure_ctcae, term

D = dt.date


def _raise(ae, user, field="onset_date", text="Onset date per source is 2026-02-18?"):
    return services.raise_query(
        user=user,
        subject=ae.subject,
        record_type="safety.adverseevent",
        record_id=ae.pk,
        field=field,
        text=text,
        suggested_value="2026-02-18",
    )


def _correct_onset(ae, user, onset):
    ae.refresh_from_db()
    return aes.update_ae(
        ae=ae,
        by=user,
        expected_version=ae.version,
        reason="Source document says so",
        changes={"onset_date": onset},
    )


def _counts():
    return Query.objects.count(), QueryMessage.objects.count()


def test_raise_answer_close_writes_the_thread(ae, monitor_a, coordinator_a):
    query = _raise(ae, monitor_a)
    assert (query.status, query.origin, query.raised_by, query.field) == (
        "open",
        "manual",
        monitor_a,
        "onset_date",
    )
    assert query.suggested_value == "2026-02-18"
    _correct_onset(ae, coordinator_a, D(2026, 2, 18))
    answered = services.answer(query=query, user=coordinator_a, text="Corrected per source.")
    assert answered.status == "answered" and answered.answered_at is not None
    closed = services.close(query=answered, user=monitor_a)
    assert closed.status == "closed" and closed.closed_at is not None
    thread = list(QueryMessage.objects.filter(query=query).order_by("id"))
    assert [(m.action, m.author_role) for m in thread] == [
        ("raise", "monitor"),
        ("answer", "coordinator"),
        ("close", "monitor"),
    ]
    correction = AuditEvent.objects.get(pk=thread[1].correction_id)
    assert (correction.table_name, correction.record_pk) == ("safety_adverseevent", str(ae.pk))
    assert correction.reason == "Source document says so"
    assert thread[0].correction_id is None
    # every message is audited, with the action as the reason
    audit = AuditEvent.objects.filter(table_name="queries_querymessage", action="INSERT")
    assert audit.count() == 3
    assert audit.filter(reason="Query answered", app_user_id=coordinator_a.pk).exists()


def test_answer_without_a_correction_links_nothing(ae, monitor_a, coordinator_a):
    query = _raise(ae, monitor_a)
    services.answer(query=query, user=coordinator_a, text="The source says 2026-02-20.")
    assert QueryMessage.objects.get(query=query, action="answer").correction_id is None


@pytest.mark.parametrize("field", ["nonsense", "id", "version", ""])
def test_raise_refuses_a_field_the_record_does_not_have(ae, monitor_a, field):
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        _raise(ae, monitor_a, field=field)
    assert "field" in refused.value.message_dict
    assert _counts() == before


def test_raise_refuses_a_record_of_another_subject_or_type(ae, monitor_a, subject_b):
    before = _counts()
    for kwargs, field in (
        ({"subject": subject_b}, "record_id"),
        ({"record_id": 10**9}, "record_id"),
        ({"record_type": "auth.user"}, "record_type"),
        ({"record_id": "x"}, "record_id"),
    ):
        args = {
            "user": monitor_a if "subject" not in kwargs else services_dm(),
            "subject": ae.subject,
            "record_type": "safety.adverseevent",
            "record_id": ae.pk,
            "field": "onset_date",
            "text": "?",
            **kwargs,
        }
        with pytest.raises(ValidationError) as refused:
            services.raise_query(**args)
        assert field in refused.value.message_dict
    assert _counts() == before


def services_dm():
    from tests.factories import member

    return member("dm_other", "data_manager", None)


def test_raise_needs_text_and_a_reviewer(ae, monitor_a, coordinator_a, investigator_a):
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        _raise(ae, monitor_a, text="  ")
    assert refused.value.error_dict["text"][0].code == "required"
    for user in (coordinator_a, investigator_a):
        with pytest.raises(PermissionDenied):
            _raise(ae, user)
    assert _counts() == before


def test_refusals_store_nothing(ae, monitor_a, coordinator_a, data_manager):
    query = _raise(ae, monitor_a)
    before = _counts()
    with pytest.raises(PermissionDenied):  # coordinators never close
        services.close(query=query, user=coordinator_a)
    with pytest.raises(PermissionDenied):  # monitors never answer
        services.answer(query=query, user=monitor_a, text="x")
    with pytest.raises(PermissionDenied):  # only its raiser cancels
        services.cancel(query=query, user=data_manager, text="duplicate")
    with pytest.raises(ValidationError) as refused:  # close only after an answer
        services.close(query=query, user=monitor_a)
    assert refused.value.error_dict["__all__"][0].code == "query_state"
    with pytest.raises(ValidationError) as refused:
        services.cancel(query=query, user=monitor_a, text="")
    assert refused.value.error_dict["text"][0].code == "required"
    assert _counts() == before
    query.refresh_from_db()
    assert query.status == "open" and query.version == 1


def test_send_back_reopen_cancel(ae, monitor_a, coordinator_a, data_manager):
    query = _raise(ae, monitor_a)
    query = services.answer(query=query, user=coordinator_a, text="Checked.")
    with pytest.raises(ValidationError):
        services.send_back(query=query, user=data_manager, text="")
    query = services.send_back(query=query, user=data_manager, text="Give the source page.")
    assert query.status == "open"
    with pytest.raises(ValidationError):  # answered once: not the raiser's to cancel any more
        services.cancel(query=query, user=monitor_a, text="withdrawn")
    query = services.answer(query=query, user=coordinator_a, text="Page 3.")
    query = services.close(query=query, user=monitor_a, text="")
    query = services.reopen(query=query, user=data_manager, text="Page 3 says otherwise.")
    assert query.status == "open" and query.closed_at is None
    other = _raise(ae, monitor_a, field="grade", text="Grade?")
    other = services.cancel(query=other, user=monitor_a, text="Raised on the wrong field.")
    assert other.status == "cancelled" and other.resolution == "Raised on the wrong field."


def test_a_message_is_never_edited_or_deleted(ae, monitor_a):
    query = _raise(ae, monitor_a)
    message = QueryMessage.objects.get(query=query)
    for sql in (
        "UPDATE queries_querymessage SET text = 'changed' WHERE id = %s",
        "DELETE FROM queries_querymessage WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="never edited or deleted"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [message.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        QueryMessage.objects.filter(pk=message.pk).update(text="changed")
    message.refresh_from_db()
    assert message.text == query.text
    assert connection.settings_dict["USER"] == "alter_app"  # the app's own login


def _closed_query(ae, monitor_a, coordinator_a, field="onset_date"):
    query = _raise(ae, monitor_a, field=field)
    query = services.answer(query=query, user=coordinator_a, text="Source agrees.")
    return services.close(query=query, user=monitor_a)


def test_a_change_after_closure_marks_it_closed_modified(ae, monitor_a, coordinator_a):
    query = _closed_query(ae, monitor_a, coordinator_a)
    grade_query = _closed_query(ae, monitor_a, coordinator_a, field="term")
    # another field changes: nothing happens to the onset-date query
    _correct_onset(ae, coordinator_a, D(2026, 2, 20))  # same value: no change at all
    query.refresh_from_db()
    assert query.status == "closed"
    _correct_onset(ae, coordinator_a, D(2026, 2, 19))  # through the service
    query.refresh_from_db()
    grade_query.refresh_from_db()
    assert query.status == "closed_modified"
    assert grade_query.status == "closed"
    changed = QueryMessage.objects.get(query=query, action="value_changed")
    assert (changed.author_id, changed.author_role) == (None, "system")
    assert changed.text.endswith("onset_date is now 2026-02-19.")
    # a foreign key, through raw SQL as the app role
    other_term = term("Hypotension")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE safety_adverseevent SET term_id = %s WHERE id = %s", [other_term.pk, ae.pk]
        )
    grade_query.refresh_from_db()
    assert grade_query.status == "closed_modified"
    # still listable and can be reopened
    query = services.reopen(query=query, user=monitor_a, text="Why did it change?")
    assert query.status == "open"


def test_raw_sql_change_marks_it_too(ae, monitor_a, coordinator_a):
    query = _closed_query(ae, monitor_a, coordinator_a)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE safety_adverseevent SET onset_date = '2026-02-17' WHERE id = %s", [ae.pk]
        )
    query.refresh_from_db()
    assert query.status == "closed_modified"


# --- system queries: close as confirmed --------------------------------------------------------


@pytest.fixture
def flagged_ae(treated, coordinator_a):
    """Onset before the first dose (2026-01-05): outside the reporting window, a system query."""
    ensure_ctcae()
    ae = aes.record_ae(
        subject=treated,
        by=coordinator_a,
        term=term("Hypertension"),
        grade=1,
        onset_date=D(2026, 1, 3),
        outcome="not_recovered",
        ongoing=True,
        treatment_given="none",
    )
    return ae


def _system_query(ae):
    return Query.objects.get(record_id=ae.pk, origin="system", record_type="safety.adverseevent")


def test_close_confirmed_is_not_raised_again_for_the_same_value(
    flagged_ae, monitor_a, coordinator_a
):
    query = _system_query(flagged_ae)
    assert query.status == "open"
    with pytest.raises(ValidationError):
        services.close_confirmed(query=query, user=monitor_a, text="")
    with pytest.raises(PermissionDenied):
        services.close_confirmed(query=query, user=coordinator_a, text="source")
    query = services.close_confirmed(query=query, user=monitor_a, text="Source confirms the value.")
    assert query.status == "closed" and query.confirmed_value == "2026-01-03"
    # another change of the AE, the check still failing on the same onset: nothing new
    flagged_ae.refresh_from_db()
    aes.update_ae(
        ae=flagged_ae,
        by=coordinator_a,
        expected_version=flagged_ae.version,
        reason="Verbatim",
        changes={"verbatim": "high blood pressure"},
    )
    assert Query.objects.filter(record_id=flagged_ae.pk, origin="system").count() == 1
    assert _system_query(flagged_ae).status == "closed"
    # a different onset, still out of window: closed-modified, and a new open query
    _correct_onset(flagged_ae, coordinator_a, D(2026, 1, 2))
    statuses = sorted(
        Query.objects.filter(record_id=flagged_ae.pk, origin="system").values_list(
            "status", flat=True
        )
    )
    assert statuses == ["closed_modified", "open"]


def test_an_answered_system_query_is_not_raised_twice(flagged_ae, coordinator_a):
    query = _system_query(flagged_ae)
    services.answer(query=query, user=coordinator_a, text="The AE started before dosing.")
    flagged_ae.refresh_from_db()
    aes.update_ae(
        ae=flagged_ae,
        by=coordinator_a,
        expected_version=flagged_ae.version,
        reason="Verbatim",
        changes={"verbatim": "high blood pressure"},
    )
    assert Query.objects.filter(record_id=flagged_ae.pk, origin="system").count() == 1


def test_a_system_query_cannot_be_cancelled(flagged_ae, monitor_a):
    with pytest.raises(ValidationError):
        services.cancel(query=_system_query(flagged_ae), user=monitor_a, text="no")


def test_the_system_closes_its_query_with_a_message_on_the_thread(flagged_ae, coordinator_a):
    query = _system_query(flagged_ae)
    _correct_onset(flagged_ae, coordinator_a, D(2026, 1, 6))  # inside the window now
    query.refresh_from_db()
    assert query.status == "closed" and query.closed_at is not None
    message = QueryMessage.objects.get(query=query)
    assert (message.action, message.author_id, message.author_role) == (
        "system_close",
        None,
        "system",
    )
    assert message.text == query.resolution
    assert AuditEvent.objects.filter(
        table_name="queries_querymessage", record_pk=str(message.pk), action="INSERT"
    ).exists()
