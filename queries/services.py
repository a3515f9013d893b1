"""Queries: the edit checks' (``sync_check``, ``close_checks``: called inside the caller's
transaction and audit context, so the query is written and audited with the change that
raised it) and the workflow of issue 14 section 1 (one service per action, below: each
writes the query and one message of its thread in one transaction, within
``audit_context``; the transitions are ``queries.workflow``'s)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.access import get_access
from audit.context import audit_context
from audit.models import AuditEvent
from queries import records, workflow
from queries.models import Query, QueryMessage

# On a record instance: the checks known to have no open system query on it within the
# current write ("all" for a row just inserted: ``mark_new``; those ``close_checks`` closed).
_CLOSED = "_queries_known_closed"
_ALL = "all"
_RESOLUTION = "Closed by the system: the data no longer fail the check."


def record_type(record) -> str:
    return record._meta.label_lower


def mark_new(record) -> None:
    """``record`` was just inserted (in the caller's transaction): no query can name it yet,
    so ``sync_check`` on this instance has nothing to look up and nothing to close (a query
    names its record by type and id, and a new row's id was never used before)."""
    setattr(record, _CLOSED, _ALL)


def end_write(record) -> None:
    """The write is over (committed or not): forget what ``mark_new`` and ``close_checks``
    knew, so the instance, used again later, is looked up as any other."""
    record.__dict__.pop(_CLOSED, None)


def _known_closed(record, check: str) -> bool:
    closed = getattr(record, _CLOSED, ())
    return closed == _ALL or check in closed


def _forget(record, check: str) -> None:
    """A query was opened for ``check``: nothing more is known closed for sure but the rest
    of the set (``all`` becomes nothing: the conservative answer)."""
    closed = getattr(record, _CLOSED, ())
    setattr(record, _CLOSED, set() if closed == _ALL else set(closed) - {check})


# Close the open system queries of checks that pass, and write the system's message on each
# thread, in ONE statement (a data-modifying CTE): the save paths keep their statement counts.
_CLOSE_SQL = """
WITH closed AS (
  UPDATE queries_query
     SET status = 'closed', closed_at = now(), resolution = %(text)s, last_action_at = now(),
         version = version + 1, updated_at = now()
   WHERE record_type = %(type)s AND record_id = %(id)s AND edit_check = ANY(%(checks)s)
     AND origin = 'system' AND status = 'open'
  RETURNING id)
INSERT INTO queries_querymessage
  (query_id, action, author_id, author_role, text, suggested_value, version)
SELECT id, 'system_close', NULL, 'system', %(text)s, '', 1 FROM closed
"""


def _close(record, checks) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _CLOSE_SQL,
            {
                "text": _RESOLUTION,
                "type": record_type(record),
                "id": record.pk,
                "checks": list(checks),
            },
        )


def close_checks(*, record, checks) -> None:
    """Several checks of one record pass: close their open system queries in one UPDATE (as
    ``sync_check`` with ``failing=False`` would, one by one); a later ``sync_check`` of one of
    them on this instance, still passing, then issues nothing."""
    checks = [c for c in checks if not _known_closed(record, c)]
    if not checks:
        return
    _close(record, checks)
    closed = getattr(record, _CLOSED, ())
    setattr(record, _CLOSED, set(closed) | set(checks))


def _same_value(record, field: str, confirmed) -> bool:
    """Is the record's ``field`` the value a close-as-confirmed stored (``confirmed``)?"""
    try:
        model_field = record._meta.get_field(field)
    except Exception:
        return False
    if not model_field.concrete or confirmed is None:
        return False
    current = getattr(record, model_field.attname)
    try:
        return model_field.to_python(confirmed) == model_field.to_python(current)
    except ValidationError:
        return False


def sync_check(*, record, subject, check: str, field: str, failing: bool, text: str) -> None:
    """Keep one unresolved system query per (record, check) while the check fails; close it,
    with a note, once the data no longer fails it. A check known closed on this instance
    (``mark_new``, ``close_checks``): no statement while it passes, and no look-up before the
    INSERT of its query when it fails (a new record: nothing else to look for). A failing
    check whose query a monitor closed as confirmed on this very value raises nothing."""
    known_closed = _known_closed(record, check)
    if known_closed and not failing:
        return
    if not failing:
        _close(record, [check])
        return
    found = []
    if getattr(record, _CLOSED, ()) != _ALL:
        found = list(
            Query.objects.filter(
                record_type=record_type(record),
                record_id=record.pk,
                edit_check=check,
                origin=Query.Origin.SYSTEM,
            )
            .filter(
                Q(status__in=workflow.UNRESOLVED)
                | Q(
                    status__in=[Query.Status.CLOSED, Query.Status.CLOSED_MODIFIED],
                    confirmed_value__isnull=False,
                )
            )
            .values_list("pk", "status", "confirmed_value", "text")
        )
    unresolved = [row for row in found if row[1] in workflow.UNRESOLVED]
    if unresolved:
        stale = [pk for pk, _status, _value, old_text in unresolved if old_text != text]
        if stale:
            Query.objects.filter(pk__in=stale).update(
                text=text, version=F("version") + 1, updated_at=Now()
            )
        return
    if any(_same_value(record, field, row[2]) for row in found):
        return  # the source confirms this value (close as confirmed)
    Query.objects.create(
        subject=subject,
        record_type=record_type(record),
        record_id=record.pk,
        field=field,
        edit_check=check,
        text=text,
        origin=Query.Origin.SYSTEM,
        visit_id=records.visit_id_of(record),
    )
    _forget(record, check)  # it has one now


def open_queries(records) -> dict[int, list[Query]]:
    """Open queries of these records (one model), by record id."""
    records = list(records)
    if not records:
        return {}
    out: dict[int, list[Query]] = {}
    for query in Query.objects.filter(
        record_type=record_type(records[0]),
        record_id__in=[r.pk for r in records],
        status=Query.Status.OPEN,
    ).order_by("raised_at", "id"):
        out.setdefault(query.record_id, []).append(query)
    return out


# --- the workflow (issue 14 section 1) --------------------------------------------------------

# The workflow's refusals (``queries.workflow`` imports nothing of Django), for the catalogue;
# shown translated by ``_check``.
WORKFLOW_MESSAGES = (
    gettext_noop("Unknown state, action or role."),
    gettext_noop("Your role may not do this to a query."),
    gettext_noop("Only a query raised by an edit check can be closed as confirmed."),
    gettext_noop("A query raised by an edit check cannot be cancelled."),
    gettext_noop("A query the site has answered cannot be cancelled."),
    gettext_noop("Only the person who raised the query may cancel it."),
    gettext_noop("Not possible for a query in this state."),
)

TEXT_LIMIT = 4000
REASONS = {
    workflow.RAISE: "Query raised",
    workflow.ANSWER: "Query answered",
    workflow.CLOSE: "Query closed",
    workflow.SEND_BACK: "Query sent back",
    workflow.REOPEN: "Query reopened",
    workflow.CANCEL: "Query cancelled",
    workflow.CLOSE_CONFIRMED: "Query closed as confirmed by the source",
}


def role_of(user, site_id: int) -> str | None:
    """The user's role at the site (a data manager's everywhere), or None."""
    return get_access(user).role_at(site_id)


def _check(state, action, role, *, query=None, user=None) -> str:
    """The workflow's answer: the new state, or a refusal (403 for the role, else 422)."""
    if role is None:
        raise PermissionDenied(_("Your role does not allow this."))
    try:
        return workflow.transition(
            state,
            action,
            role,
            is_raiser=bool(query and user and query.raised_by_id == user.pk),
            origin=query.origin if query else workflow.MANUAL,
            answered=bool(query and query.answered_at),
        )
    except workflow.Refused as refused:
        if refused.forbidden:
            raise PermissionDenied(_(refused.message)) from refused
        raise ValidationError(
            {"__all__": ValidationError(_(refused.message), code=refused.code)}
        ) from refused


def _text(action: str, text: str, field: str = "text") -> str:
    text = (text or "").strip()
    if workflow.needs_text(action) and not text:
        message = (
            _("Write the query.")
            if action == workflow.RAISE
            else _("Write the answer.")
            if action == workflow.ANSWER
            else _("A comment is required.")
        )
        raise ValidationError({field: ValidationError(message, code="required")})
    if len(text) > TEXT_LIMIT:
        raise ValidationError(
            {
                field: ValidationError(
                    _("Keep it under %(limit)s characters."),
                    code="max_length",
                    params={"limit": TEXT_LIMIT},
                )
            }
        )
    return text


def check_may_raise(user, subject) -> None:
    """403 unless the user may raise a query on the subject's records."""
    _check(None, workflow.RAISE, role_of(user, subject.site_id))


def raise_query(
    *, user, subject, record_type: str, record_id, field: str, text: str, suggested_value=""
) -> Query:
    """A monitor or data manager raises a query on one field of one record of the subject."""
    role = role_of(user, subject.site_id)
    _check(None, workflow.RAISE, role)
    text = _text(workflow.RAISE, text)
    suggested = (suggested_value or "").strip()
    if len(suggested) > 500:
        raise ValidationError(
            {"suggested_value": ValidationError(_("Keep it under 500 characters."), "max_length")}
        )
    _pk, _subject_id, visit_id = records.resolve(record_type, record_id, field, subject=subject)
    with (
        transaction.atomic(),
        audit_context(user=user, reason=REASONS[workflow.RAISE], subject=subject),
    ):
        query = Query.objects.create(
            subject=subject,
            record_type=record_type,
            record_id=int(record_id),
            field=field,
            text=text,
            origin=Query.Origin.MANUAL,
            raised_by=user,
            suggested_value=suggested,
            visit_id=visit_id,
        )
        QueryMessage.objects.create(
            query=query,
            action=workflow.RAISE,
            author=user,
            author_role=role,
            text=text,
            suggested_value=suggested,
        )
    return Query.objects.select_related("subject__site").get(pk=query.pk)


def _correction(query: Query, user):
    """The latest audit row of the queried record the user wrote since the query was raised."""
    kind = records.RECORD_TYPES.get(query.record_type)
    if kind is None:
        return None
    return (
        AuditEvent.objects.filter(
            table_name=kind.model._meta.db_table,
            record_pk=str(query.record_id),
            app_user_id=user.pk,
            occurred_at__gt=query.raised_at,
        )
        .order_by("-chain_seq")
        .only("pk")
        .first()
    )


def _stored_value(query: Query):
    """The queried field's value as stored now (text), or None (record or field gone)."""
    kind = records.RECORD_TYPES.get(query.record_type)
    if kind is None or not query.field:
        return None
    model = kind.model
    try:
        field = model._meta.get_field(query.field)
    except Exception:
        return None
    record = model.objects.filter(pk=query.record_id).only(field.attname).first()
    if record is None:
        return None
    value = getattr(record, field.attname)
    return None if value is None else field.value_to_string(record)


def act(*, query: Query, user, action: str, text: str = "") -> Query:
    """Answer, close, send back, reopen, cancel or close as confirmed: the workflow decides,
    and the query and one message of its thread are written together (or nothing)."""
    if action not in workflow.ACTIONS or action in (workflow.RAISE, workflow.SYSTEM_CLOSE):
        raise ValidationError({"action": ValidationError(_("Unknown action."), code="invalid")})
    role = role_of(user, query.subject.site_id)
    _check(query.status, action, role, query=query, user=user)  # 403 before anything else
    text = _text(action, text)
    with (
        transaction.atomic(),
        audit_context(user=user, reason=REASONS[action], subject=query.subject_id),
    ):
        locked = Query.objects.select_for_update().get(pk=query.pk)
        target = _check(locked.status, action, role, query=locked, user=user)
        changes = {"status": target, "last_action_at": Now()}
        correction = None
        if action == workflow.ANSWER:
            correction = _correction(locked, user)
            if locked.answered_at is None:
                changes["answered_at"] = Now()
        if target in (workflow.CLOSED, workflow.CANCELLED):
            changes["closed_at"] = Now()
            changes["resolution"] = text
        elif target == workflow.OPEN:
            changes["closed_at"] = None
        if action == workflow.CLOSE_CONFIRMED:
            changes["confirmed_value"] = _stored_value(locked)
        Query.objects.filter(pk=locked.pk).update(
            **changes, version=F("version") + 1, updated_at=Now()
        )
        QueryMessage.objects.create(
            query=locked,
            action=action,
            author=user,
            author_role=role,
            text=text,
            correction=correction,
        )
    return Query.objects.select_related("subject__site").get(pk=query.pk)


def answer(*, query, user, text):
    return act(query=query, user=user, action=workflow.ANSWER, text=text)


def close(*, query, user, text=""):
    return act(query=query, user=user, action=workflow.CLOSE, text=text)


def send_back(*, query, user, text):
    return act(query=query, user=user, action=workflow.SEND_BACK, text=text)


def reopen(*, query, user, text):
    return act(query=query, user=user, action=workflow.REOPEN, text=text)


def cancel(*, query, user, text):
    return act(query=query, user=user, action=workflow.CANCEL, text=text)


def close_confirmed(*, query, user, text):
    return act(query=query, user=user, action=workflow.CLOSE_CONFIRMED, text=text)


def actions_for(query: Query, user) -> list[str]:
    """The buttons the user has on this query now."""
    role = role_of(user, query.subject.site_id)
    if role is None:
        return []
    return [
        a
        for a in workflow.allowed_actions(
            query.status,
            role,
            is_raiser=query.raised_by_id == user.pk,
            origin=query.origin,
            answered=query.answered_at is not None,
        )
        if a not in (workflow.RAISE, workflow.SYSTEM_CLOSE)
    ]
