from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit trail")

    def ready(self):
        from django.contrib.auth import signals as auth_signals
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from audit import db_roles, events, triggers

        connection_created.connect(db_roles.check_app_login, dispatch_uid="audit-app-login")
        post_migrate.connect(triggers.install, dispatch_uid="audit-install-triggers")
        auth_signals.user_logged_in.connect(events.on_login, dispatch_uid="audit-login")
        auth_signals.user_logged_out.connect(events.on_logout, dispatch_uid="audit-logout")
        auth_signals.user_login_failed.connect(events.on_login_failed, dispatch_uid="audit-fail")
