from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueriesConfig(AppConfig):
    name = "queries"
    verbose_name = _("Data queries")

    def ready(self):
        from django.db.models.signals import post_migrate

        from queries import db

        post_migrate.connect(db.install, dispatch_uid="queries-install-triggers")
