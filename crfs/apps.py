from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrfsConfig(AppConfig):
    name = "crfs"
    verbose_name = _("Visit CRFs: schedule of assessments and visit forms")
