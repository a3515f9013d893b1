from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SafetyConfig(AppConfig):
    name = "safety"
    verbose_name = _("Safety: adverse events, SAEs and lab panels")

    def ready(self):
        # The AE reporting window starts with the first dose and ends 21 days after the last:
        # a status change re-flags the subject's adverse events. subjects.services sends the
        # signal and never imports safety (safety imports subjects: one direction).
        from safety.services.aes import sync_reporting_window
        from subjects.models import Subject
        from subjects.services import status_changed

        def resync_window(sender, subject, **kwargs):
            sync_reporting_window(subject)

        status_changed.connect(
            resync_window, sender=Subject, weak=False, dispatch_uid="safety.reporting_window"
        )

        # A dose modification for toxicity no AE links to gets a query when it is stored;
        # dosing sends the signal inside its transaction and never imports safety.
        from dosing.models import DoseEvent
        from dosing.services import dose_event_recorded
        from safety.services.dose_link import sync_dose_event_check

        def check_dose_event(sender, event, **kwargs):
            sync_dose_event_check(event)

        dose_event_recorded.connect(
            check_dose_event, sender=DoseEvent, weak=False, dispatch_uid="safety.dose_event_link"
        )

        # The consent date corrected: an AE's onset may now be before it (issue 14 edit
        # check ``safety.ae_onset_before_consent``), or no longer.
        from safety.services.aes import resync_consent
        from subjects.services import subject_corrected

        def recheck_consent(sender, subject, changed, **kwargs):
            if "consent_date" in changed:
                from audit.context import audit_context

                with audit_context(reason="Edit check: the consent date was corrected"):
                    resync_consent(subject)

        subject_corrected.connect(
            recheck_consent, sender=Subject, weak=False, dispatch_uid="safety.ae_consent"
        )
