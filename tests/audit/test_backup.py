"""Backup and restore: a dump restored into a fresh database is the same study, trail whole.

``./run backup`` / ``./run restore FILE`` call these commands (README, Backup and restore).
The test backs up a study with an enrolled subject, restores it into a new database and
checks what an inspector would: every table has the same number of rows, the audit chain
verifies against the latest checkpoint saved with the dump, and the app serves the
restored subject.
"""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.urls import reverse

from audit.anchor import read_checkpoints
from audit.backup import owner_connect
from tests.factories import enrol

pytestmark = pytest.mark.django_db(transaction=True)

TABLES_SQL = (
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
    "AND tablename <> 'django_session' ORDER BY tablename"
)


def row_counts(dbname: str) -> dict[str, int]:
    with owner_connect(dbname) as conn:
        tables = [t for (t,) in conn.execute(TABLES_SQL).fetchall()]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


@pytest.fixture
def restored_name():
    name = f"test_alter_restore_{uuid.uuid4().hex[:8]}"
    yield name
    connections["default"].close()
    with owner_connect(connection.settings_dict["NAME"]) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_restored_into_a_fresh_database_is_the_same_study(
    subject_a, investigator_a, coordinator_a, tmp_path, restored_name, client
):
    enrol(subject_a, by=investigator_a)
    out = io.StringIO()
    call_command("backup", dir=str(tmp_path), stdout=out)
    dump = next(tmp_path.glob("*.dump"))
    saved = dump.with_suffix(".checkpoints.jsonl")
    assert f"Backup written: {dump}" in out.getvalue()
    latest = read_checkpoints(saved)[-1]
    source_counts = row_counts(connection.settings_dict["NAME"])

    out = io.StringIO()
    call_command("restore", str(dump), database_name=restored_name, stdout=out)

    report = out.getvalue()
    assert f"Restored {dump.name} into database {restored_name}." in report
    assert f"the latest of {latest.chains} chains at {latest.written_at}" in report
    assert "Audit chain intact" in report
    assert row_counts(restored_name) == source_counts
    assert source_counts["audit_auditevent"] >= sum(pos for pos, _ in latest.heads.values()) > 0

    # the app (its own login) serves the restored data
    default = connections["default"]
    original = default.settings_dict["NAME"]
    default.close()
    default.settings_dict["NAME"] = restored_name
    try:
        client.force_login(coordinator_a)
        page = client.get(reverse("subjects:detail", args=[subject_a.pk]))
        assert page.status_code == 200
        assert subject_a.screening_number in page.content.decode()
        with connection.cursor() as cursor:
            cursor.execute("SELECT session_user")
            assert cursor.fetchone()[0] == "alter_app"
    finally:
        default.close()
        default.settings_dict["NAME"] = original


def test_restore_refuses_an_existing_database(subject_a, tmp_path):
    call_command("backup", dir=str(tmp_path), stdout=io.StringIO())
    dump = next(tmp_path.glob("*.dump"))
    with pytest.raises(Exception, match="exists: restore only into a new one"):
        call_command("restore", str(dump), database_name=connection.settings_dict["NAME"])
