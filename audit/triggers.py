"""The database side of the audit trail: functions, triggers and grants.

Installed after every ``migrate`` (idempotent), so a table added by a later issue is
audited as soon as its model carries ``@audited``. Raw SQL and ``QuerySet.update()``
pass through the same triggers as form saves: nothing reaches a clinical table unrecorded.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from audit.login_role import ensure_app_login

AUDITED_MODELS: list = []
CHAIN_LOCK_KEY = 7310062026  # pg_advisory_xact_lock key serialising appends to the chain

GENESIS_HASH = "0" * 64  # the chain trigger starts from repeat('0', 64)

CANONICAL_SQL = """
CREATE OR REPLACE FUNCTION audit_canonical(e audit_auditevent) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT concat_ws(chr(31),
    e.chain_seq::text,
    to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    e.table_name, e.record_pk, e.action,
    coalesce(e.old_data::text, ''), coalesce(e.new_data::text, ''),
    coalesce(e.app_user_id::text, ''), e.app_username, e.reason, e.context, e.db_user)
$$;
"""

CHAIN_SQL = """
CREATE OR REPLACE FUNCTION audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  last_seq bigint;
  last_hash text;
BEGIN
  -- data-change rows come only from audit_record_change (one trigger level down);
  -- the application may append logins and workflow events, never forge a data change
  IF NEW.action IN ('INSERT', 'UPDATE', 'DELETE') AND pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'audit rows for data changes are written only by the audit_row trigger'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- one writer at a time appends to the chain; held until commit
  PERFORM pg_advisory_xact_lock(%(lock)s);
  SELECT chain_seq, row_hash INTO last_seq, last_hash
    FROM audit_auditevent ORDER BY chain_seq DESC LIMIT 1;
  NEW.chain_seq := coalesce(last_seq, 0) + 1;
  NEW.occurred_at := clock_timestamp();
  NEW.db_user := current_user;
  NEW.table_name := coalesce(NEW.table_name, '');
  NEW.record_pk := coalesce(NEW.record_pk, '');
  NEW.app_username := coalesce(NEW.app_username, '');
  NEW.reason := coalesce(NEW.reason, '');
  NEW.context := coalesce(NEW.context, '');
  NEW.prev_hash := coalesce(last_hash, repeat('0', 64));
  NEW.row_hash := encode(sha256(convert_to(NEW.prev_hash || audit_canonical(NEW), 'UTF8')), 'hex');
  RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER audit_chain BEFORE INSERT ON audit_auditevent
  FOR EACH ROW EXECUTE FUNCTION audit_chain();
""".replace("%(lock)s", str(CHAIN_LOCK_KEY))

RECORD_SQL = """
CREATE OR REPLACE FUNCTION audit_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_j jsonb;
  new_j jsonb;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN old_j := to_jsonb(OLD); END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN new_j := to_jsonb(NEW); END IF;
  IF TG_OP = 'UPDATE' AND old_j = new_j THEN RETURN NULL; END IF;
  INSERT INTO audit_auditevent (chain_seq, occurred_at, table_name, record_pk, action,
      old_data, new_data, app_user_id, app_username, reason, context, db_user,
      prev_hash, row_hash)
  VALUES (0, clock_timestamp(), TG_TABLE_NAME, coalesce(new_j ->> 'id', old_j ->> 'id'), TG_OP,
      old_j, new_j,
      nullif(current_setting('alter.user_id', true), '')::bigint,
      coalesce(current_setting('alter.username', true), ''),
      coalesce(current_setting('alter.reason', true), ''),
      coalesce(nullif(current_setting('alter.context', true), ''), 'database'),
      current_user, '', '');
  RETURN NULL;
END $$;
"""


def _grants_sql(role: str) -> str:
    return f"""
GRANT USAGE ON SCHEMA public TO "{role}";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}";
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO "{role}";
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_auditevent FROM "{role}";
REVOKE TRUNCATE, TRIGGER ON ALL TABLES IN SCHEMA public FROM "{role}";
"""


def install(sender=None, **kwargs) -> None:
    """Create the audit functions, attach the triggers and set the app role's grants."""
    if sender is not None and sender.name != "audit":
        return  # post_migrate fires once per app; once per migrate is enough
    tables = set(connection.introspection.table_names())
    if "audit_auditevent" not in tables:
        return
    with connection.cursor() as cursor:
        cursor.execute(CANONICAL_SQL)
        cursor.execute(CHAIN_SQL)
        cursor.execute(RECORD_SQL)
        for model in AUDITED_MODELS:
            table = model._meta.db_table
            if table in tables:
                cursor.execute(
                    "CREATE OR REPLACE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE "
                    f'ON "{table}" FOR EACH ROW EXECUTE FUNCTION audit_record_change()'
                )
        ensure_app_login(
            cursor, settings.DB_APP_ROLE, settings.DATABASES["default"].get("PASSWORD", "")
        )
        cursor.execute(_grants_sql(settings.DB_APP_ROLE))
