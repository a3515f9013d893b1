"""The 5,000-subject study for the benchmarks (issue 12), built through the services.

    from tests.bench.generate import generate
    study = generate(5000)          # inside a test with database access (a bench)

Every subject is registered by ``subjects.services.register_subject`` (screening number,
screening visit, status history, audit trail); about half are then enrolled as the site
would do it: screening entered by ``eligibility.services.save_screening``, signed by the
site's investigator with ``sign_eligibility`` (password re-entered), enrolled by
``subjects.services.change_status`` with a C1D1, which plans the visits through the
service's own schedule code (``sync_schedule``: 36 cycles and the tumour assessments, ~54
visits). C1D1 dates are spread over the last two years, so the visits run from long past
to far ahead; ~134 k visits at 5,000 subjects.

One shortcut, set-based and still audited (the row triggers fire): most visits whose window
has closed are then marked done (``actual_date`` = the target) by one ``UPDATE`` per site
instead of 100 k ``record_visit`` calls, leaving ``overdue_share`` of them open: the overdue
list the dashboard shows. Password hashing is MD5 inside the generator only.

Fixed seed: the same call builds the same study.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import time
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F
from django.test import RequestFactory, override_settings

from accounts.models import Role, Site
from audit.db_roles import owner_connection
from eligibility import services as eligibility
from eligibility.demo import add_reference_ranges, eligible_screening_data
from subjects import services
from subjects.models import Subject, Visit
from tests.factories import PASSWORD, SiteFactory, member

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CITIES = ["GZ", "SH", "BJ", "CD", "WH", "HZ", "NJ", "XA", "TJ", "CQ"]


@dataclass
class Study:
    sites: list[Site]
    coordinators: dict[int, object]  # site id -> coordinator user
    investigators: dict[int, object]
    data_manager: object
    subjects: int = 0
    enrolled: int = 0
    visits: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.subjects} subjects ({self.enrolled} enrolled) at {len(self.sites)} sites, "
            f"{self.visits} visits, built in {self.seconds:.0f} s ("
            + ", ".join(f"{k} {v:.0f} s" for k, v in self.timings.items())
            + ")"
        )


@contextlib.contextmanager
def _timed(clock: dict[str, tuple[float, int]], part: str):
    """Add the block's time to ``clock[part]`` (seconds, calls)."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        total, calls = clock.get(part, (0.0, 0))
        clock[part] = (total + time.perf_counter() - t0, calls + 1)


def _enrol(subject: Subject, investigator, coordinator, c1d1: dt.date, clock: dict) -> None:
    """The site's enrolment, through the services (screening, signature, status change)."""
    on_date = c1d1 - dt.timedelta(days=2)
    with _timed(clock, "save_screening"):
        _save_screening(subject, coordinator, on_date, c1d1)
    with _timed(clock, "sign_eligibility"):
        _sign(subject, investigator)
    subject.refresh_from_db()
    with _timed(clock, "change_status"):
        services.change_status(
            subject=subject,
            target="enrolled",
            on_date=on_date,
            reason="",
            by=coordinator,
            expected_version=subject.version,
            c1d1=c1d1,
        )


def _save_screening(subject, coordinator, on_date, c1d1):
    eligibility.save_screening(
        subject=subject,
        changes=eligible_screening_data(subject, anchor=on_date, planned_c1d1=c1d1),
        expected_version=None,
        by=coordinator,
    )


def _sign(subject, investigator):
    eligibility.sign_eligibility(
        subject=subject,
        by=investigator,
        password=PASSWORD,
        expected_hash=eligibility.data_hash(subject, eligibility.get_screening(subject)),
        attested=eligibility.pending_attestations(eligibility.evaluate(subject)),
        request=RequestFactory().post("/"),
    )


def close_past_visits(sites, rng: random.Random, overdue_share: float, after_pk: int = 0) -> None:
    """Mark the visits whose window has closed done (``actual_date`` = the target), but for
    ``overdue_share`` of them (the overdue list): one set-based ``UPDATE`` per site, still
    audited (the row triggers fire, with a reason). Screening visits stay as they are;
    ``after_pk``: only the visits of subjects registered after that id."""
    for site in sites:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('alter.reason', %s, true), "
                    "set_config('alter.context', 'bench generator', true)",
                    ["bench: visits done"],
                )
            closed = Visit.objects.filter(
                subject__site=site,
                subject_id__gt=after_pk,
                actual_date__isnull=True,
                missed=False,
                latest__lt=site.today(),
            ).exclude(kind="screening")
            keep_open = [
                pk for pk in closed.values_list("pk", flat=True) if rng.random() < overdue_share
            ]
            closed.exclude(pk__in=keep_open).update(actual_date=F("target_date"))


def generate(
    n_subjects: int = 5000,
    *,
    n_sites: int = 10,
    enrolled_share: float = 0.49,
    overdue_share: float = 0.03,
    history_days: int = 730,
    seed: int = 12,
    progress: bool = True,
) -> Study:
    """Build the study; returns who is who and how long each part took."""
    rng = random.Random(seed)
    began = time.perf_counter()
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        sites = [
            SiteFactory(code=f"{CITIES[i % len(CITIES)]}{i + 1:02d}", time_zone="Asia/Shanghai")
            for i in range(n_sites)
        ]
        coordinators, investigators = {}, {}
        for site in sites:
            add_reference_ranges(site)
            coordinators[site.pk] = member(f"coord_{site.code.lower()}", Role.COORDINATOR, site)
            investigators[site.pk] = member(f"inv_{site.code.lower()}", Role.INVESTIGATOR, site)
        data_manager = member("dm_bench", Role.DATA_MANAGER, None)
        study = Study(sites, coordinators, investigators, data_manager)

        t0 = t_last = time.perf_counter()
        clock: dict[str, tuple[float, int]] = {}
        for i in range(n_subjects):
            site = sites[i % n_sites]
            today = site.today()
            enrol = rng.random() < enrolled_share
            if enrol:
                c1d1 = today - dt.timedelta(days=rng.randint(0, history_days))
                consent = c1d1 - dt.timedelta(days=rng.randint(7, 20))
            else:
                consent = today - dt.timedelta(days=rng.randint(0, 25))
            with _timed(clock, "register_subject"):
                subject = services.register_subject(
                    site=site,
                    by=coordinators[site.pk],
                    sex=rng.choice("FM"),
                    date_of_birth=dt.date(rng.randint(1962, 1995), rng.randint(1, 12), 15),
                    initials="".join(rng.choice("ABCDEFGHJKLMNPQRSTWXYZ") for _ in range(3)),
                    consent_date=consent,
                    consent_version="2.1",
                )
            study.subjects += 1
            if enrol:
                _enrol(subject, investigators[site.pk], coordinators[site.pk], c1d1, clock)
                study.enrolled += 1
            if progress and (i + 1) % 500 == 0:
                rate = 500 / (time.perf_counter() - t_last)
                t_last = time.perf_counter()
                parts = ", ".join(f"{k} {t * 1000 / n:.0f}" for k, (t, n) in clock.items())
                print(f"  generator: {i + 1} subjects, {rate:.0f}/s; ms per call: {parts}")
                clock.clear()
        study.timings["services"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        close_past_visits(sites, rng, overdue_share)
        study.timings["visits done"] = time.perf_counter() - t0
    # Statistics as autovacuum would have them by now: only the tables' owner may ANALYZE
    # (the app's login is skipped with a warning); the owner's session sees committed rows
    # only, so a bench that wants plans on fresh statistics runs with transaction=True.
    with owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute("ANALYZE")
    study.visits = Visit.objects.count()
    study.seconds = time.perf_counter() - began
    return study
