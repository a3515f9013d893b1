"""The fixed cast of every test: two sites and a user in each role (STYLE.md §6)."""

import pytest

from accounts.models import Role
from tests.factories import SiteFactory, make_subject, member


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def site_a(db):
    return SiteFactory(code="GZ01", name="Guangzhou Cancer Center", time_zone="Asia/Shanghai")


@pytest.fixture
def site_b(db):
    return SiteFactory(code="SH02", name="Shanghai Cancer Center", time_zone="Asia/Shanghai")


@pytest.fixture
def coordinator_a(site_a):
    return member("coord_a", Role.COORDINATOR, site_a)


@pytest.fixture
def investigator_a(site_a):
    return member("inv_a", Role.INVESTIGATOR, site_a)


@pytest.fixture
def coordinator_b(site_b):
    return member("coord_b", Role.COORDINATOR, site_b)


@pytest.fixture
def monitor_a(site_a):
    return member("monitor_a", Role.MONITOR, site_a)


@pytest.fixture
def data_manager(db):
    return member("dm", Role.DATA_MANAGER, None)


@pytest.fixture
def cast(site_a, site_b, coordinator_a, investigator_a, coordinator_b, monitor_a, data_manager):
    return {
        "coordinator_a": coordinator_a,
        "investigator_a": investigator_a,
        "coordinator_b": coordinator_b,
        "monitor_a": monitor_a,
        "data_manager": data_manager,
    }


@pytest.fixture
def subject_a(site_a, coordinator_a):
    return make_subject(site_a, coordinator_a, initials="ZWL")


@pytest.fixture
def subject_b(site_b, coordinator_b):
    return make_subject(site_b, coordinator_b, initials="LXM")
