"""One hash chain per subject (plus the study-level chain) instead of one for the trail.

Existing rows are put on their chain (the subject their data names; the study-level
chain otherwise), numbered there in their old order, and re-hashed per chain. Each keeps
its old hash in ``legacy_hash``, itself covered by the new hash: the checkpoints written
before this migration still verify against it, and ``verify_audit_chain`` re-walks the
old global chain through those hashes, so tampering done before the migration is not
laundered by the re-hashing.
"""

from django.db import migrations, models

RELINK_SQL = """
UPDATE audit_auditevent SET legacy_hash = row_hash WHERE legacy_hash = '';
UPDATE audit_auditevent e SET chain_key = audit_event_chain_key(e);
UPDATE audit_auditevent e SET chain_pos = n.pos
  FROM (SELECT id, row_number() OVER (PARTITION BY chain_key ORDER BY chain_seq) AS pos
          FROM audit_auditevent) n
 WHERE n.id = e.id;
DO $$ DECLARE r record; prev text; current_chain bigint; BEGIN
  FOR r IN SELECT id, chain_key FROM audit_auditevent ORDER BY chain_key, chain_pos LOOP
    IF current_chain IS DISTINCT FROM r.chain_key THEN
      prev := repeat('0', 64);
      current_chain := r.chain_key;
    END IF;
    UPDATE audit_auditevent e SET prev_hash = prev,
        row_hash = encode(sha256(convert_to(prev || audit_canonical(e), 'UTF8')), 'hex')
      WHERE id = r.id RETURNING row_hash INTO prev;
  END LOOP;
END $$;
SELECT setval('audit_event_seq', greatest(coalesce(max(chain_seq), 0), 1),
              max(chain_seq) IS NOT NULL)
  FROM audit_auditevent;
"""


def relink(connection) -> None:
    """Put every existing event on its per-subject chain and re-hash the chains."""
    from audit.triggers import install_chain_functions

    with connection.cursor() as cursor:
        install_chain_functions(cursor, set(connection.introspection.table_names(cursor)))
        cursor.execute(RELINK_SQL)


def forwards(apps, schema_editor):
    relink(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_subject_history_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="chain_key",
            field=models.BigIntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain_pos",
            field=models.BigIntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="legacy_hash",
            field=models.CharField(
                blank=True, db_default="", default="", editable=False, max_length=64
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                fields=("chain_key", "chain_pos"), name="audit_chain_position"
            ),
        ),
    ]
