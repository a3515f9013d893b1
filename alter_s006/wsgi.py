import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alter_s006.settings")
application = get_wsgi_application()

# Refuse to serve with a database login that could rewrite the audit trail.
from audit.db_roles import verify_app_login_at_startup  # noqa: E402

verify_app_login_at_startup()
