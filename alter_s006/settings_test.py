"""Settings for pytest: test defaults for the environment, then the one settings module.

Tests run with production-like settings (DEBUG off) over plain HTTP on localhost.
Anything already set in the environment (DATABASE_URL, REDIS_URL, ...) wins.
"""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("HTTPS", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("AUDIT_HMAC_KEY", "test-only-audit-key-not-for-production-0123456789abcdef")
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")  # tests use the real Redis
# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests
# make around it are ordinary synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from alter_s006.settings import *  # noqa: E402, F403
