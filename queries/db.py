"""The database side of the query workflow (issue 14 section 1), installed after every
``migrate`` like ``audit.triggers``:

- a thread message is never edited or deleted: a trigger refuses UPDATE and DELETE of
  ``queries_querymessage``, whoever sends them (page, API, admin, raw SQL);
- a change of the queried value after closure marks the query closed-modified: an AFTER
  UPDATE trigger on every table a query can name (``queries.records.RECORD_TYPES``; the
  record type is its argument) compares the field's old and new values (and ``<field>_id``
  for a foreign key) and moves the record's closed queries on that field to
  ``closed_modified``, with a system message on its thread saying so. No write path can
  skip either.
"""

from __future__ import annotations

from django.db import connection

from queries.records import RECORD_TYPES

IMMUTABLE_SQL = """
CREATE OR REPLACE FUNCTION queries_message_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'query messages are never edited or deleted (%)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE OR REPLACE TRIGGER query_message_immutable BEFORE UPDATE OR DELETE
  ON queries_querymessage FOR EACH ROW EXECUTE FUNCTION queries_message_immutable();
"""

MODIFIED_SQL = """
CREATE OR REPLACE FUNCTION queries_mark_modified() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_j jsonb := to_jsonb(OLD);
  new_j jsonb := to_jsonb(NEW);
BEGIN
  IF old_j = new_j THEN RETURN NULL; END IF;
  WITH changed AS (
    UPDATE queries_query q
       SET status = 'closed_modified', version = q.version + 1, updated_at = clock_timestamp()
     WHERE q.record_type = TG_ARGV[0]
       AND q.record_id = (new_j ->> 'id')::bigint
       AND q.status = 'closed'
       AND q.field <> ''
       AND ((old_j -> q.field) IS DISTINCT FROM (new_j -> q.field)
            OR (old_j -> (q.field || '_id')) IS DISTINCT FROM (new_j -> (q.field || '_id')))
    RETURNING q.id, q.field)
  INSERT INTO queries_querymessage
    (query_id, action, author_id, author_role, text, suggested_value, version)
  SELECT id, 'value_changed', NULL, 'system',
         'The queried value changed after closure: ' || field || ' is now '
           || coalesce(new_j ->> field, new_j ->> (field || '_id'), 'empty') || '.',
         '', 1
    FROM changed;
  RETURN NULL;
END $$;
"""


def install(sender=None, **kwargs) -> None:
    if sender is not None and sender.name != "queries":
        return
    tables = set(connection.introspection.table_names())
    if "queries_querymessage" not in tables:
        return
    with connection.cursor() as cursor:
        cursor.execute(IMMUTABLE_SQL)
        cursor.execute(MODIFIED_SQL)
        for label, kind in RECORD_TYPES.items():
            table = kind.model._meta.db_table
            if table in tables:
                cursor.execute(
                    f'CREATE OR REPLACE TRIGGER query_closed_modified AFTER UPDATE ON "{table}" '
                    f"FOR EACH ROW EXECUTE FUNCTION queries_mark_modified('{label}')"
                )
