"""Timepoint notes as codes and parameters (issue 11 C13), worded in the reader's language.

A note stored as English text before becomes ``{"code": "text", "params": {"text": ...}}``
(shown as it was) until the assessment is derived again. The column is replaced in SQL: an
``ALTER ... TYPE jsonb USING`` cannot split the text into lines (no subquery allowed there).
The change is audited with its reason like any other.
"""

import django.core.serializers.json
from django.db import migrations, models

FORWARD = """
SELECT set_config('alter.reason', 'RECIST notes stored as codes (issue 11 C13)', true);
ALTER TABLE assessments_timepoint ADD COLUMN notes_codes jsonb NOT NULL DEFAULT '[]'::jsonb;
UPDATE assessments_timepoint SET notes_codes = (
    SELECT coalesce(
        jsonb_agg(jsonb_build_object('code', 'text', 'params', jsonb_build_object('text', line))),
        '[]'::jsonb)
    FROM unnest(string_to_array(notes, E'\\n')) AS line WHERE line <> '')
WHERE notes <> '';
ALTER TABLE assessments_timepoint DROP COLUMN notes;
ALTER TABLE assessments_timepoint RENAME COLUMN notes_codes TO notes;
ALTER TABLE assessments_timepoint ALTER COLUMN notes DROP DEFAULT;
"""

BACKWARD = """
SELECT set_config('alter.reason', 'RECIST notes back to text (issue 11 C13 reverted)', true);
ALTER TABLE assessments_timepoint ADD COLUMN notes_text text NOT NULL DEFAULT '';
UPDATE assessments_timepoint SET notes_text = coalesce((
    SELECT string_agg(coalesce(n -> 'params' ->> 'text', n ->> 'code'), E'\\n')
    FROM jsonb_array_elements(notes) AS n), '');
ALTER TABLE assessments_timepoint DROP COLUMN notes;
ALTER TABLE assessments_timepoint RENAME COLUMN notes_text TO notes;
ALTER TABLE assessments_timepoint ALTER COLUMN notes DROP DEFAULT;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("assessments", "0004_free_text_allows_angle_brackets"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
            state_operations=[
                migrations.AlterField(
                    model_name="timepoint",
                    name="notes",
                    field=models.JSONField(
                        blank=True,
                        default=list,
                        encoder=django.core.serializers.json.DjangoJSONEncoder,
                        verbose_name="notes",
                    ),
                ),
            ],
        ),
    ]
