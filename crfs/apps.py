from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrfsConfig(AppConfig):
    name = "crfs"
    verbose_name = _("Visit CRFs: schedule of assessments and visit forms")

    def ready(self):
        from crfs.services import on_ae_terms_written
        from safety.services.aes import ae_terms_written

        ae_terms_written.connect(on_ae_terms_written, dispatch_uid="crfs.grade_queries")
