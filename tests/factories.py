import datetime as dt

import factory
from django.contrib.auth import get_user_model

from accounts.models import Membership, Role, Site
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
