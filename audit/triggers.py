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

# The trail is one hash chain per subject (chain key = the subject's id) plus one
# study-level chain (key 0: sites, memberships, reference ranges, logins...). An append
# locks its own chain only -- pg_advisory_xact_lock(CHAIN_LOCK_NAMESPACE, key), the
# two-key form, so it cannot collide with any other advisory lock -- and writes for
# different subjects never wait for each other.
CHAIN_LOCK_NAMESPACE = 731006
STUDY_CHAIN = 0
# The single lock that serialised every audited write before the per-subject chains
# (kept for the benchmark's "before" variant only; nothing takes it any more).
CHAIN_LOCK_KEY = 7310062026
INT4_MAX = 2147483647

GENESIS_HASH = "0" * 64  # every chain starts from repeat('0', 64)

# chain_seq: one global sequence, drawn after the chain lock, so it orders the events of
# a chain as their positions do (and the whole trail roughly by time; numbers can skip).
SEQUENCE_SQL = """
CREATE SEQUENCE IF NOT EXISTS audit_event_seq AS bigint;
"""

CANONICAL_SQL = """
CREATE OR REPLACE FUNCTION audit_canonical(e audit_auditevent) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT concat_ws(chr(31),
    e.chain_key::text, e.chain_pos::text, e.chain_seq::text,
    to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    e.table_name, e.record_pk, e.action,
    coalesce(e.old_data::text, ''), coalesce(e.new_data::text, ''),
    coalesce(e.app_user_id::text, ''), e.app_username, e.reason, e.context, e.db_user,
    e.legacy_hash)
$$;
-- the canonical text of the single global chain before the per-subject chains; the rows
-- written then keep their old hash (legacy_hash), verified against the old checkpoints
CREATE OR REPLACE FUNCTION audit_canonical_v1(e audit_auditevent) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT concat_ws(chr(31),
    e.chain_seq::text,
    to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    e.table_name, e.record_pk, e.action,
    coalesce(e.old_data::text, ''), coalesce(e.new_data::text, ''),
    coalesce(e.app_user_id::text, ''), e.app_username, e.reason, e.context, e.db_user)
$$;
"""

CHAIN_SQL = (
    """
CREATE OR REPLACE FUNCTION audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  last_pos bigint;
  last_hash text;
BEGIN
  -- data-change rows come only from audit_record_change (one trigger level down);
  -- the application may append logins and workflow events, never forge a data change
  IF NEW.action IN ('INSERT', 'UPDATE', 'DELETE') AND pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'audit rows for data changes are written only by the audit_row trigger'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  NEW.table_name := coalesce(NEW.table_name, '');
  NEW.record_pk := coalesce(NEW.record_pk, '');
  NEW.chain_key := audit_event_chain_key(NEW);
  -- one writer at a time appends to THIS chain (the subject's); held until commit
  PERFORM pg_advisory_xact_lock(%(ns)s, (NEW.chain_key %% %(int4)s)::int);
  SELECT chain_pos, row_hash INTO last_pos, last_hash
    FROM audit_auditevent WHERE chain_key = NEW.chain_key
   ORDER BY chain_pos DESC LIMIT 1;
  NEW.chain_pos := coalesce(last_pos, 0) + 1;
  NEW.chain_seq := nextval('audit_event_seq');
  NEW.occurred_at := clock_timestamp();
  NEW.db_user := current_user;
  NEW.app_username := coalesce(NEW.app_username, '');
  NEW.reason := coalesce(NEW.reason, '');
  NEW.context := coalesce(NEW.context, '');
  NEW.legacy_hash := '';
  NEW.prev_hash := coalesce(last_hash, repeat('0', 64));
  NEW.row_hash := encode(sha256(convert_to(NEW.prev_hash || audit_canonical(NEW), 'UTF8')), 'hex');
  RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER audit_chain BEFORE INSERT ON audit_auditevent
  FOR EACH ROW EXECUTE FUNCTION audit_chain();
""".replace("%(ns)s", str(CHAIN_LOCK_NAMESPACE))
    .replace("%(int4)s", str(INT4_MAX))
    .replace("%%", "%")
)

# The chain of an event: for a data change, the subject its row belongs to (read from the
# row's data); for an application event (login, workflow), the subject of the record it
# names, if any. Everything else is on the study-level chain.
EVENT_KEY_SQL = """
CREATE OR REPLACE FUNCTION audit_event_chain_key(e audit_auditevent) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN e.action IN ('INSERT', 'UPDATE', 'DELETE')
      THEN audit_chain_key(e.table_name, coalesce(e.new_data, e.old_data))
    WHEN e.table_name <> '' AND e.record_pk ~ '^[0-9]{1,18}$'
      THEN audit_chain_key(e.table_name, jsonb_build_object('id', e.record_pk::bigint))
    ELSE 0 END
$$;
"""


def subject_model():
    from django.apps import apps

    return apps.get_model("subjects", "Subject")


def chain_path(model) -> tuple | None:
    """How a row of ``model`` names its subject, or None (study-level chain).

    ("self",) for the subject itself; ("column", attname, column) for a row with a
    foreign key to the subject; ("parent", fk, parent path) one foreign key away from
    such a row (a lab result's panel, an SAE report's adverse event).
    """
    subject = subject_model()
    if model is subject or issubclass(model, subject):
        return ("self",)
    fks = [
        f
        for f in model._meta.concrete_fields
        if f.is_relation and f.many_to_one or (f.is_relation and f.one_to_one)
    ]
    direct = [f for f in fks if f.related_model is subject]
    direct.sort(key=lambda f: f.name != "subject")  # "subject" itself first
    if direct:
        return ("column", direct[0].attname, direct[0].column)
    for f in fks:
        related = f.related_model
        if related is None or related is model:
            continue
        parent = [
            g for g in related._meta.concrete_fields if g.is_relation and g.related_model is subject
        ]
        if parent:
            parent.sort(key=lambda g: g.name != "subject")
            return ("parent", f, parent[0])
    return None


def chain_key_function_sql(tables: set[str] | None = None) -> str:
    """``audit_chain_key(table, row data)``: the chain of a row of each audited table."""
    branches = []
    for model in AUDITED_MODELS:
        table = model._meta.db_table
        if tables is not None and table not in tables:
            continue
        path = chain_path(model)
        if path is None:
            continue
        if path[0] == "self":
            expr = "(j ->> 'id')::bigint"
        elif path[0] == "column":
            expr = f"(j ->> '{path[2]}')::bigint"
        else:
            fk, parent_field = path[1], path[2]
            parent_table = fk.related_model._meta.db_table
            if tables is not None and parent_table not in tables:
                continue
            expr = (
                f'(SELECT p."{parent_field.column}" FROM "{parent_table}" p '
                f"WHERE p.\"{fk.target_field.column}\" = (j ->> '{fk.column}')::bigint)"
            )
        branches.append(f"    WHEN '{table}' THEN RETURN coalesce({expr}, 0);")
    body = "\n".join(branches)
    case = f"  CASE tbl\n{body}\n    ELSE RETURN 0;\n  END CASE;" if branches else "  RETURN 0;"
    return f"""
CREATE OR REPLACE FUNCTION audit_chain_key(tbl text, j jsonb) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
{case}
END $$;
"""


def install_chain_functions(cursor, tables: set[str]) -> None:
    """The sequence and the chain functions (also run by the per-chain migration)."""
    cursor.execute(SEQUENCE_SQL)
    cursor.execute(chain_key_function_sql(tables))
    cursor.execute(EVENT_KEY_SQL)
    cursor.execute(CANONICAL_SQL)
    cursor.execute(CHAIN_SQL)


def chain_key_of(obj) -> int:
    """The chain key of a subject, a subject id, or a row of an audited table."""
    if obj is None:
        return STUDY_CHAIN
    if isinstance(obj, int):
        return obj
    path = chain_path(type(obj))
    if path is None:
        return STUDY_CHAIN
    if path[0] == "self":
        return obj.pk or STUDY_CHAIN
    if path[0] == "column":
        return getattr(obj, path[1]) or STUDY_CHAIN
    parent = getattr(obj, path[1].name)
    return (getattr(parent, path[2].attname) if parent is not None else None) or STUDY_CHAIN


def lock_key(chain_key: int) -> int:
    """The second key of the chain's advisory lock (an int4, as in the trigger)."""
    return chain_key % INT4_MAX


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
        install_chain_functions(cursor, tables)
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
