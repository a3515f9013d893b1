from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Monitoring")

    def ready(self):
        from django.db.models.signals import post_migrate

        from monitoring import triggers

        post_migrate.connect(triggers.install, dispatch_uid="monitoring-install-triggers")
