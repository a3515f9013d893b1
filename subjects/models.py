import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from accounts.models import Site
from alter_s006 import protocol as P
from audit.models import VersionedModel, audited
from subjects import lifecycle, schedule, validation

_S = lifecycle.SubjectStatus
# The pure lifecycle module's labels, marked for translation (same English words).
STATUS_LABELS = {
    _S.SCREENING: _("screening"),
    _S.SCREEN_FAILED: _("screen failed"),
    _S.ENROLLED: _("enrolled"),
    _S.ON_TREATMENT: _("on treatment"),
    _S.OFF_TREATMENT: _("off treatment"),
    _S.IN_FOLLOW_UP: _("in follow-up"),
    _S.COMPLETED: _("completed"),
    _S.WITHDRAWN: _("withdrawn"),
    _S.DIED: _("deceased"),
}
_K = schedule.VisitKind
VISIT_KIND_LABELS = {
    _K.SCREENING: _("screening"),
    _K.CYCLE: _("cycle"),
    _K.TUMOUR_ASSESSMENT: _("tumour assessment"),
    _K.END_OF_TREATMENT: _("end of treatment"),
    _K.SAFETY_FOLLOW_UP: _("safety follow-up"),
    _K.SURVIVAL_FOLLOW_UP: _("survival follow-up"),
    _K.UNSCHEDULED: _("unscheduled"),
}
_V = schedule.VisitStatus
VISIT_STATUS_LABELS = {
    _V.UPCOMING: _("upcoming"),
    _V.DUE: _("due"),
    _V.OVERDUE: _("overdue"),
    _V.DONE: _("done"),
    _V.MISSED: _("missed"),
}
SubjectStatus = models.TextChoices(
    "SubjectStatus", [(s.name, (s.value, STATUS_LABELS[s])) for s in lifecycle.SubjectStatus]
)
VisitKind = models.TextChoices(
    "VisitKind", [(k.name, (k.value, VISIT_KIND_LABELS[k])) for k in schedule.VisitKind]
)


class SubjectQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=[s.value for s in lifecycle.ACTIVE_STATUSES])


@audited
class Subject(VersionedModel):
    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="subjects")
    screening_number = models.CharField(_("screening number"), max_length=20, unique=True)
    subject_number = models.CharField(
        _("subject number"), max_length=20, unique=True, null=True, blank=True
    )
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    year_of_birth = models.PositiveSmallIntegerField(
        _("year of birth"),
        null=True,
        blank=True,
        validators=[
            MinValueValidator(P.EARLIEST_PLAUSIBLE_DATE.year),
            MaxValueValidator(P.LATEST_PLAUSIBLE_DATE.year),
        ],
        help_text=_("Only when the full date of birth may not be collected."),
    )
    initials = models.CharField(
        _("initials"),
        max_length=4,
        validators=[RegexValidator(r"^[A-Z]{2,4}$", _("2 to 4 capital letters, e.g. ZWL."))],
    )
    consent_date = models.DateField(_("consent date"))
    consent_version = models.CharField(
        _("consent form version"),
        max_length=20,
        validators=[
            RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$", _("Letters, digits, dot, dash."))
        ],
    )
    status = models.CharField(
        _("status"), max_length=20, choices=SubjectStatus.choices, default="screening"
    )
    status_date = models.DateField(_("status date"))
    c1d1_date = models.DateField(_("cycle 1 day 1"), null=True, blank=True)
    last_dose_date = models.DateField(_("last dose"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )

    objects = SubjectQuerySet.as_manager()

    class Meta:
        ordering = ["site__code", "screening_number"]
        verbose_name = _("subject")
        indexes = [
            # the dashboard's "recently updated" subjects: the newest first, stopping at the
            # rows shown instead of sorting every subject of the sites (issue 12)
            models.Index(fields=["-updated_at", "id"], name="subject_recent_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(date_of_birth__isnull=True) | Q(date_of_birth__lte=F("consent_date")),
                name="subject_consent_after_birth",
            ),
            models.CheckConstraint(
                condition=Q(date_of_birth__isnull=False) | Q(year_of_birth__isnull=False),
                name="subject_birth_date_or_year",
            ),
        ]

    def __str__(self):
        return self.subject_number or self.screening_number

    @property
    def consent_version_label(self) -> str:
        """The version as read on the form: "v2.1" for "2.1", and "v2.1" (not "vv2.1")."""
        version = self.consent_version or ""
        return version if version[:1] in ("v", "V") or not version else f"v{version}"

    @property
    def lifecycle_status(self) -> lifecycle.SubjectStatus:
        return lifecycle.SubjectStatus(self.status)

    def clean(self):
        """The demographics' edit checks (``subjects.validation``), for every save path."""
        today = self.site.today() if self.site_id else dt.date.today()
        validation.validate_demographics(
            {
                "date_of_birth": self.date_of_birth,
                "year_of_birth": self.year_of_birth,
                "consent_date": self.consent_date,
            },
            today=today,
        )


@audited
class StatusChange(models.Model):
    """One dated step of a subject's lifecycle (insert-only; PROTOCOL.md lifecycle)."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=SubjectStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=SubjectStatus.choices)
    on_date = models.DateField(_("date"))
    reason = models.TextField(_("reason"), blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        ordering = ["on_date", "id"]

    def __str__(self):
        return f"{self.subject}: {self.from_status or '—'} → {self.to_status} ({self.on_date})"


@audited
class Visit(VersionedModel):
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="visits")
    kind = models.CharField(max_length=30, choices=VisitKind.choices)
    number = models.PositiveSmallIntegerField(default=0)
    code = models.CharField(max_length=10)
    target_date = models.DateField(_("target date"))
    earliest = models.DateField(_("window opens"))
    latest = models.DateField(_("window closes"))
    actual_date = models.DateField(_("actual date"), null=True, blank=True)
    missed = models.BooleanField(_("missed"), default=False)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["target_date", "kind", "number"]
        indexes = [
            # The dashboard's visit lists (subjects.views._open_visits): open visits only,
            # overdue and due ones in window-close order (then id); target-date order for
            # other readers, and the due count (window opened by today + horizon). An index scan
            # that stops at the rows shown, not a scan and sort of every visit.
            models.Index(
                fields=["latest", "id"],
                condition=Q(actual_date__isnull=True, missed=False),
                name="visit_open_latest_idx",
            ),
            models.Index(
                fields=["target_date", "id"],
                condition=Q(actual_date__isnull=True, missed=False),
                name="visit_open_target_idx",
            ),
            models.Index(
                fields=["earliest"],
                condition=Q(actual_date__isnull=True, missed=False),
                name="visit_open_earliest_idx",
            ),
            # The counts of one site's overdue / due visits (a coordinator's dashboard and
            # "see all" pages): a nested loop over the site's subjects into their open
            # visits, answered from the index alone (the window's dates are included).
            # Without it the planner, misled by the rows estimate of "latest < today" among
            # open visits, read every open visit of every site (31 ms at 5,000 subjects).
            models.Index(
                fields=["subject", "latest"],
                include=["earliest", "target_date"],
                condition=Q(actual_date__isnull=True, missed=False),
                name="visit_open_subject_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["subject", "code"], name="visit_subject_code_unique"),
            models.CheckConstraint(
                condition=Q(earliest__lte=F("target_date")) & Q(target_date__lte=F("latest")),
                name="visit_target_inside_window",
            ),
            models.CheckConstraint(
                condition=~(Q(missed=True) & Q(actual_date__isnull=False)),
                name="visit_missed_has_no_date",
            ),
        ]

    def __str__(self):
        return f"{self.subject} {self.code}"

    def status(self, today: dt.date) -> schedule.VisitStatus:
        return schedule.visit_status(
            earliest=self.earliest,
            latest=self.latest,
            actual=self.actual_date,
            missed=self.missed,
            today=today,
        )

    def days_outside_window(self) -> int | None:
        if self.actual_date is None:
            return None
        return schedule.days_outside_window(self.planned, self.actual_date)

    @property
    def planned(self) -> schedule.PlannedVisit:
        return schedule.PlannedVisit(
            kind=schedule.VisitKind(self.kind),
            number=self.number,
            code=self.code,
            target=self.target_date,
            earliest=self.earliest,
            latest=self.latest,
        )
