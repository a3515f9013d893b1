"""The fixed cast of every test: two sites and a user in each role (STYLE.md §6)."""

import pytest

from accounts.models import Role
from audit.backup import owner_connect
from audit.db_roles import owner_connection
from tests.factories import SiteFactory, make_subject, member


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_keepdb,
    django_db_modify_db_settings,  # a database of its own for each xdist worker
):
    """pytest-django's set-up, made with the owner's login as a deployment would.

    The test database is created and migrated by the owner (DATABASE_OWNER_URL); every
    test then connects exactly as the app does, with its own restricted login. Under
    pytest-xdist each worker has its own database: the name gets the worker's suffix
    (``test_alter_s006_gw0``, ...).
    """
    from django.test.utils import setup_databases, teardown_databases

    verbosity = request.config.option.verbose
    with django_db_blocker.unblock(), owner_connection():
        db_cfg = setup_databases(
            verbosity=verbosity,
            interactive=False,
            keepdb=django_db_keepdb,
            aliases={"default"},
            serialized_aliases=set(),
        )
    yield
    if not django_db_keepdb:
        from django.db import connections

        connections.close_all()  # the app's connections, or the owner cannot drop the database
        # and those of other threads: a live server's request still running when its
        # browser test ended (the last test of an xdist worker can be one)
        with owner_connect("postgres") as owner:
            owner.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [connections["default"].settings_dict["NAME"]],
            )
        with django_db_blocker.unblock(), owner_connection():
            teardown_databases(db_cfg, verbosity=verbosity)


@pytest.fixture(autouse=True, scope="session")
def _fast_hashing():
    """MD5 password hashes for the whole run (also data built once per module or class)."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _checkpoint_file(settings, tmp_path):
    """Each test anchors the audit chain in a file of its own (outside the database)."""
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "audit-checkpoints.jsonl"


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language. A request in Chinese leaves the thread's
    language activated after it (Django does not reset it), which made a later test that
    reads a message without a request see Chinese, depending on the order of the tests."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


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
