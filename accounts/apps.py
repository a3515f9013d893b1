from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Sites, users and roles")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from accounts import checks  # noqa: F401 - registers the system checks
        from accounts.middleware import record_activity_at_login

        user_logged_in.connect(record_activity_at_login, dispatch_uid="accounts.activity_at_login")
