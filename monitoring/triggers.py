"""The database side of freeze / lock, SDV reset and signature voiding (issue 14 §3–§5).

Installed after every ``migrate`` (idempotent, like ``audit.triggers``), on every audited
table whose rows belong to a subject:

- ``monitoring_guard`` (BEFORE INSERT / UPDATE / DELETE) refuses a write to held data. On a
  *data* table any active hold in force refuses it (SQLSTATE ``ALFRZ`` for a freeze,
  ``ALLCK`` for a lock); on a *workflow* table (queries, their messages, SDV marks,
  signatures, eligibility signatures, a new freeze) only a lock does. A hold is in force on
  a row when it names the study, the row's subject, the row's visit, the row itself or the
  form the row belongs to (a lab result's panel, a lesion measurement's timepoint). A
  workflow row that names a record (``record_type`` / ``record_id``) is judged as that
  record.
- ``monitoring_effects`` (AFTER INSERT / UPDATE / DELETE, data tables) marks the SDV of
  what changed "changed since verified" (a form mark on any change, an item mark when its
  field changes) and voids the signatures that cover the row: its CRF's, its visit's and its
  subject's casebook.

The app's database login has no TRIGGER privilege and owns no table (audit.triggers), so no
write path — page, API, admin, shell, raw SQL — can skip either.
"""

from __future__ import annotations

from django.db import connection

from audit.triggers import AUDITED_MODELS, chain_path

SQLSTATE_FROZEN = "ALFRZ"
SQLSTATE_LOCKED = "ALLCK"

WORKFLOW_APPS = {"queries", "monitoring"}
WORKFLOW_MODELS = {"eligibility.eligibilitysignature"}
NOT_GUARDED_APPS = {"outbox"}  # notifications are the system's, not the subject's data


def visit_model():
    from django.apps import apps

    return apps.get_model("subjects", "Visit")


def guarded_models() -> list[tuple[type, str]]:
    """(model, "data" | "workflow") for every audited table of a subject."""
    out = []
    for model in AUDITED_MODELS:
        meta = model._meta
        if meta.app_label in NOT_GUARDED_APPS or chain_path(model) is None:
            continue
        if meta.label_lower == "monitoring.hold":
            continue  # lifting a hold must stay possible; a new freeze is checked below
        if meta.app_label in WORKFLOW_APPS or meta.label_lower in WORKFLOW_MODELS:
            out.append((model, "workflow"))
        else:
            out.append((model, "data"))
    return out


def _visit_fk(model):
    visit = visit_model()
    for f in model._meta.concrete_fields:
        if f.is_relation and f.related_model is visit:
            return f
    return None


def _parent_fk(model):
    """The foreign key to the form this row is part of (an audited, non-spine model)."""
    from subjects.models import Subject

    audited = set(AUDITED_MODELS)
    for f in model._meta.concrete_fields:
        if (
            f.is_relation
            and f.many_to_one
            and f.related_model in audited
            and f.related_model not in (Subject, visit_model(), model)
            and f.related_model._meta.app_label not in WORKFLOW_APPS
            and not f.null
        ):
            return f
    return None


def identity_function_sql(models: list[type]) -> str:
    """``monitoring_identity(tbl, j)``: the row's model label, visit, and parent form."""
    branches = []
    labels = []
    for model in models:
        meta = model._meta
        table = meta.db_table
        if model is visit_model():
            vis = "(j ->> 'id')::bigint"
        elif (fk := _visit_fk(model)) is not None:
            vis = f"(j ->> '{fk.column}')::bigint"
        else:
            vis = "NULL"
        parent = _parent_fk(model)
        if parent is not None:
            ptable = parent.related_model._meta.db_table
            plabel = f"'{parent.related_model._meta.label_lower}'"
            pid = f"(j ->> '{parent.column}')::bigint"
            pfk = _visit_fk(parent.related_model)
            if vis == "NULL" and pfk is not None:
                vis = f'(SELECT p."{pfk.column}" FROM "{ptable}" p WHERE p.id = {pid})'
        else:
            plabel, pid = "NULL", "NULL"
        branches.append(
            f"    WHEN '{table}' THEN label := '{meta.label_lower}'; vis := {vis};"
            f" plabel := {plabel}; pid := {pid};"
        )
        labels.append(f"    WHEN '{meta.label_lower}' THEN RETURN '{table}';")
    body = "\n".join(branches)
    label_body = "\n".join(labels)
    return f"""
CREATE OR REPLACE FUNCTION monitoring_identity(tbl text, j jsonb,
    OUT label text, OUT vis bigint, OUT plabel text, OUT pid bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  CASE tbl
{body}
    ELSE label := NULL;
  END CASE;
END $$;
CREATE OR REPLACE FUNCTION monitoring_label_table(lbl text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  CASE lbl
{label_body}
    ELSE RETURN NULL;
  END CASE;
END $$;
"""


HOLD_SQL = """
-- the hold in force on one row (a lock before a freeze), or NULL; ``only_locks`` for a
-- workflow row, which a freeze does not stop
CREATE OR REPLACE FUNCTION monitoring_hold_on(tbl text, j jsonb, only_locks boolean)
RETURNS monitoring_hold LANGUAGE plpgsql STABLE AS $$
DECLARE
  subj bigint := audit_chain_key(tbl, j);
  ident record;
  rid bigint := (j ->> 'id')::bigint;
  named text;
  rj jsonb;
  h monitoring_hold;
BEGIN
  SELECT * INTO ident FROM monitoring_identity(tbl, j);
  IF ident.label IS NULL AND (j ->> 'record_type') IS NOT NULL AND (j ->> 'record_id') IS NOT NULL
     AND j ->> 'record_type' <> '' THEN
    -- a workflow row naming a record: judged as that record
    named := monitoring_label_table(j ->> 'record_type');
    rid := (j ->> 'record_id')::bigint;
    IF named IS NOT NULL THEN
      EXECUTE format('SELECT to_jsonb(t) FROM %I t WHERE t.id = $1', named) INTO rj USING rid;
    END IF;
    IF rj IS NOT NULL THEN
      SELECT * INTO ident FROM monitoring_identity(named, rj);
    ELSE
      SELECT j ->> 'record_type' AS label, NULL::bigint AS vis, NULL::text AS plabel,
             NULL::bigint AS pid INTO ident;
    END IF;
  END IF;
  IF ident.vis IS NULL AND (j ->> 'visit_id') IS NOT NULL THEN
    ident.vis := (j ->> 'visit_id')::bigint;
  END IF;
  SELECT * INTO h FROM monitoring_hold m
   WHERE m.lifted_at IS NULL
     AND (NOT only_locks OR m.kind = 'lock')
     AND (m.level = 'study'
          OR (m.level = 'subject' AND m.subject_id = subj)
          OR (m.level = 'visit' AND m.visit_id = ident.vis)
          OR (m.level = 'record' AND ((m.record_type = ident.label AND m.record_id = rid)
                                   OR (m.record_type = ident.plabel AND m.record_id = ident.pid))))
   ORDER BY m.kind = 'lock' DESC, m.id
   LIMIT 1;
  RETURN h;
END $$;

CREATE OR REPLACE FUNCTION monitoring_refuse(h monitoring_hold, tbl text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% % is %: %', tbl, h.level,
      CASE h.kind WHEN 'lock' THEN 'locked' ELSE 'frozen' END, h.reason
    USING ERRCODE = CASE h.kind WHEN 'lock' THEN '__LOCKED__' ELSE '__FROZEN__' END,
          DETAIL = json_build_object('kind', h.kind, 'level', h.level, 'hold', h.id,
                                     'reason', h.reason)::text;
END $$;

CREATE OR REPLACE FUNCTION monitoring_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  only_locks boolean := TG_ARGV[0] = 'workflow';
  h monitoring_hold;
BEGIN
  -- nothing is held: one index probe, and the write goes on
  IF EXISTS (SELECT 1 FROM monitoring_hold WHERE lifted_at IS NULL LIMIT 1) THEN
    IF TG_OP <> 'INSERT' THEN
      h := monitoring_hold_on(TG_TABLE_NAME, to_jsonb(OLD), only_locks);
      IF h.id IS NOT NULL THEN PERFORM monitoring_refuse(h, TG_TABLE_NAME); END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
      h := monitoring_hold_on(TG_TABLE_NAME, to_jsonb(NEW), only_locks);
      IF h.id IS NOT NULL THEN PERFORM monitoring_refuse(h, TG_TABLE_NAME); END IF;
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION monitoring_effects() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  oj jsonb;
  nj jsonb;
  j jsonb;
  subj bigint;
  rid bigint;
  ident record;
BEGIN
  IF TG_OP <> 'INSERT' THEN oj := to_jsonb(OLD) - 'version' - 'updated_at'; END IF;
  IF TG_OP <> 'DELETE' THEN nj := to_jsonb(NEW) - 'version' - 'updated_at'; END IF;
  IF oj IS NOT DISTINCT FROM nj THEN RETURN NULL; END IF;
  j := coalesce(nj, oj);
  subj := audit_chain_key(TG_TABLE_NAME, j);
  IF subj = 0 THEN RETURN NULL; END IF;
  rid := (j ->> 'id')::bigint;
  SELECT * INTO ident FROM monitoring_identity(TG_TABLE_NAME, j);
  UPDATE monitoring_sdvmark s
     SET state = 'changed', changed_at = clock_timestamp(), version = s.version + 1,
         updated_at = clock_timestamp()
   WHERE s.subject_id = subj AND s.state = 'verified'
     AND ((s.record_type = ident.label AND s.record_id = rid
           AND (s.field = '' OR oj -> s.field IS DISTINCT FROM nj -> s.field
                OR oj -> (s.field || '_id') IS DISTINCT FROM nj -> (s.field || '_id')))
          OR (s.record_type = ident.plabel AND s.record_id = ident.pid AND s.field = ''));
  UPDATE monitoring_signature g
     SET voided_at = clock_timestamp(), version = g.version + 1, updated_at = clock_timestamp(),
         void_reason = format('%s of %s #%s', TG_OP, ident.label, rid)
   WHERE g.subject_id = subj AND g.voided_at IS NULL
     AND (g.level = 'casebook'
          OR (g.level = 'visit' AND g.visit_id = ident.vis)
          OR (g.level = 'crf' AND ((g.record_type = ident.label AND g.record_id = rid)
                                OR (g.record_type = ident.plabel AND g.record_id = ident.pid))));
  RETURN NULL;
END $$;
""".replace("__LOCKED__", SQLSTATE_LOCKED).replace("__FROZEN__", SQLSTATE_FROZEN)


def install(sender=None, **kwargs) -> None:
    """Create the functions and attach the triggers (after every migrate)."""
    if sender is not None and sender.name != "monitoring":
        return
    tables = set(connection.introspection.table_names())
    if "monitoring_hold" not in tables:
        return
    models = [(m, mode) for m, mode in guarded_models() if m._meta.db_table in tables]
    with connection.cursor() as cursor:
        cursor.execute(identity_function_sql([m for m, mode in models if mode == "data"]))
        cursor.execute(HOLD_SQL)
        for model, mode in models:
            table = model._meta.db_table
            cursor.execute(
                "CREATE OR REPLACE TRIGGER monitoring_guard BEFORE INSERT OR UPDATE OR DELETE "
                f"ON \"{table}\" FOR EACH ROW EXECUTE FUNCTION monitoring_guard('{mode}')"
            )
            if mode == "data":
                cursor.execute(
                    "CREATE OR REPLACE TRIGGER monitoring_effects AFTER INSERT OR UPDATE OR DELETE "
                    f'ON "{table}" FOR EACH ROW EXECUTE FUNCTION monitoring_effects()'
                )
        # a freeze cannot be placed on locked data (a lock on frozen data can)
        cursor.execute(
            "CREATE OR REPLACE TRIGGER monitoring_guard BEFORE INSERT ON monitoring_hold "
            "FOR EACH ROW WHEN (NEW.kind = 'freeze') EXECUTE FUNCTION monitoring_guard('workflow')"
        )
