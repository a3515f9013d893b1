import datetime
import hashlib
import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import audited


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Site coordinator")
    INVESTIGATOR = "investigator", _("Investigator")
    MONITOR = "monitor", _("Monitor")
    DATA_MANAGER = "data_manager", _("Data manager")


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(tz)s is not a known time zone."), params={"tz": value})


@audited
class Site(models.Model):
    code = models.CharField(
        _("code"),
        max_length=6,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9]{2,6}$", _("2 to 6 capital letters or digits."))],
        help_text=_("Prefix of the site's screening and subject numbers, e.g. GZ01."),
    )
    name = models.CharField(_("name"), max_length=200)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone]
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")

    def __str__(self):
        return f"{self.code} — {self.name}"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def today(self) -> datetime.date:
        """The calendar date now at the site (dates entered there are compared with it)."""
        return timezone.now().astimezone(self.tz).date()


@audited
class Membership(models.Model):
    """A user's role at a site; a data manager's membership has no site (all sites)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        constraints = [
            models.UniqueConstraint(fields=["user", "site"], name="membership_user_site_unique"),
            models.CheckConstraint(
                condition=(Q(role=Role.DATA_MANAGER) & Q(site__isnull=True))
                | (~Q(role=Role.DATA_MANAGER) & Q(site__isnull=False)),
                name="membership_site_iff_not_data_manager",
                violation_error_message=_(
                    "Data managers cover all sites (leave site empty); every other role needs one."
                ),
            ),
        ]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} @ {self.site.code if self.site else '*'}"


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 is stored, the token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    # ``last_used_at`` says when the token was last used to this precision: a request writes
    # it only when the stored time is older (one UPDATE a minute at most, not one a request).
    LAST_USED_PRECISION = datetime.timedelta(seconds=60)

    class Meta:
        verbose_name = _("API token")

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    def touch(self, now: datetime.datetime) -> None:
        """Record a use at ``now`` unless one within ``LAST_USED_PRECISION`` is recorded."""
        if self.last_used_at is not None and now - self.last_used_at < self.LAST_USED_PRECISION:
            return
        ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
        self.last_used_at = now

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, user) -> tuple["ApiToken", str]:
        key = "alt_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, prefix=key[:8], key_hash=cls.hash(key))
        return token, key
