import datetime as dt

import factory
from django.contrib.auth import get_user_model

from accounts.models import Membership, Role, Site
from eligibility.demo import RANGES, add_reference_ranges, eligible_screening_data
from subjects import services

PASSWORD = "correct-horse-battery-9"  # noqa: S105


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"S{n:02d}")
    name = factory.LazyAttribute(lambda o: f"Hospital {o.code}")
    time_zone = "Asia/Shanghai"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.LazyAttribute(lambda o: o.username.title())
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def member(username: str, role: Role, site: Site | None):
    user = UserFactory(username=username)
    Membership.objects.create(user=user, site=site, role=role)
    return user


def make_subject(site: Site, by, **overrides):
    """Register a subject through the real service (schedule and audit included)."""
    today = site.today()
    data = {
        "sex": "F",
        "date_of_birth": dt.date(1980, 5, 17),
        "year_of_birth": None,
        "initials": "ABC",
        "consent_date": today - dt.timedelta(days=3),
        "consent_version": "2.1",
    }
    data.update(overrides)
    return services.register_subject(site=site, by=by, **data)


def investigator_of(site: Site):
    from accounts.models import Membership

    found = Membership.objects.filter(site=site, role=Role.INVESTIGATOR).select_related("user")
    if found:
        return found[0].user
    return member(f"inv_{site.code.lower()}", Role.INVESTIGATOR, site)


def sign_eligible(subject, *, by=None, anchor=None, **overrides):
    """Enter an eligible screening and have an investigator of the site sign it."""
    from django.test import RequestFactory

    from eligibility import services as eligibility

    add_reference_ranges(subject.site)
    coordinator = by or subject.created_by
    eligibility.save_screening(
        subject=subject,
        changes=eligible_screening_data(subject, anchor=anchor, **overrides),
        expected_version=None,
        by=coordinator,
    )
    investigator = investigator_of(subject.site)
    request = RequestFactory().post("/")
    return eligibility.sign_eligibility(
        subject=subject,
        by=investigator,
        password=PASSWORD,
        expected_hash=eligibility.data_hash(subject, eligibility.get_screening(subject)),
        # the investigator attests the judgement criteria (I04, E11, E16) when signing
        attested=eligibility.pending_attestations(eligibility.evaluate(subject)),
        request=request,
    )


def enrol(subject, *, by=None, on_date=None, c1d1=None):
    """Sign eligibility (planned C1D1 = ``c1d1``) and enrol through the real services."""
    today = subject.site.today()
    on_date = on_date or today
    c1d1 = c1d1 or today + dt.timedelta(days=5)
    sign_eligible(subject, by=by, anchor=on_date, planned_c1d1=c1d1)
    subject.refresh_from_db()
    return services.change_status(
        subject=subject,
        target="enrolled",
        on_date=on_date,
        reason="",
        by=by or subject.created_by,
        expected_version=subject.version,
        c1d1=c1d1,
    )


__all__ = ["RANGES", "add_reference_ranges", "eligible_screening_data"]
