"""Load the 790 CTCAE v4.03 terms shipped in safety/data, so a fresh database has them."""

from django.db import migrations


def load(apps, schema_editor):
    from safety.services import load_ctcae

    load_ctcae(model=apps.get_model("safety", "CtcaeTerm"))


class Migration(migrations.Migration):
    dependencies = [
        ("safety", "0001_ctcae_adverse_events_sae_lab_panels"),
    ]

    operations = [
        # Reversing leaves the rows: the table itself goes with 0001.
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
