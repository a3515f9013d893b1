"""Create the demo study (idempotent): two sites, a user per role, ~12 subjects.

Subjects are driven through the real services, so their schedules, status histories
and audit trails are what a coordinator's clicks would have produced.

The accounts get the README's demo password, so the command runs only when DEBUG is on.
``--random-passwords`` (e.g. for a demo server run with DEBUG off) gives each account it
creates, and each one still holding the demo password, a random password printed once.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.http import HttpRequest

from accounts.demo import DEMO_PASSWORD, has_demo_password
from accounts.models import Membership, Role, Site
from audit.context import audit_context
from eligibility.demo import add_reference_ranges, eligible_screening_data
from eligibility.services import (
    data_hash,
    evaluate,
    failure_reason,
    get_screening,
    pending_attestations,
    save_screening,
    sign_eligibility,
)
from subjects import services
from subjects.lifecycle import SubjectStatus as S
from subjects.models import Subject

SITES = [
    ("GZ01", "Sun Yat-sen University Cancer Center, Guangzhou", "Asia/Shanghai"),
    ("SH02", "Fudan University Shanghai Cancer Center", "Asia/Shanghai"),
]
ROLE_USERS = [  # username prefix, role, first name
    ("coord", Role.COORDINATOR, "Coordinator"),
    ("inv", Role.INVESTIGATOR, "Investigator"),
    ("mon", Role.MONITOR, "Monitor"),
]


@dataclass(frozen=True)
class Demo:
    site: str
    initials: str
    sex: str
    birth_year: int
    consent_ago: int  # days before today
    path: tuple  # (status, days ago, extra) steps after screening


DEMOS = [
    Demo("GZ01", "ZWL", "F", 1978, 5, ()),
    Demo("GZ01", "LXM", "M", 1969, 40, ((S.SCREEN_FAILED, 30, ""),)),
    Demo("GZ01", "CHY", "F", 1985, 20, ((S.ENROLLED, 3, -4),)),
    Demo("GZ01", "WJF", "M", 1972, 130, ((S.ENROLLED, 110, 104), (S.ON_TREATMENT, 104, 7))),
    Demo("GZ01", "HQS", "F", 1990, 70, ((S.ENROLLED, 50, 45), (S.ON_TREATMENT, 45, 0))),
    Demo(
        "GZ01",
        "YLP",
        "M",
        1964,
        230,
        (
            (S.ENROLLED, 210, 205),
            (S.ON_TREATMENT, 205, 0),
            (S.OFF_TREATMENT, 30, "Progressive disease (RECIST 1.1)"),
        ),
    ),
    Demo(
        "SH02",
        "SUN",
        "M",
        1975,
        330,
        (
            (S.ENROLLED, 310, 300),
            (S.ON_TREATMENT, 300, 0),
            (S.OFF_TREATMENT, 100, "Unacceptable toxicity: grade 3 hypertension"),
            (S.IN_FOLLOW_UP, 75, ""),
        ),
    ),
    Demo(
        "SH02",
        "GAO",
        "F",
        1961,
        790,
        (
            (S.ENROLLED, 770, 760),
            (S.ON_TREATMENT, 760, 0),
            (S.OFF_TREATMENT, 400, "Progressive disease (RECIST 1.1)"),
            (S.IN_FOLLOW_UP, 375, ""),
            (S.COMPLETED, 1, "24 months of follow-up completed"),
        ),
    ),
    Demo(
        "SH02",
        "MAY",
        "F",
        1983,
        90,
        ((S.ENROLLED, 75, 70), (S.ON_TREATMENT, 70, 0), (S.WITHDRAWN, 20, "Consent withdrawn")),
    ),
    Demo(
        "SH02",
        "ZHU",
        "M",
        1958,
        160,
        (
            (S.ENROLLED, 150, 140),
            (S.ON_TREATMENT, 140, 0),
            (S.DIED, 12, "Death: disease progression"),
        ),
    ),
    Demo("SH02", "LIN", "F", 1980, 35, ((S.ENROLLED, 15, 10), (S.ON_TREATMENT, 10, 0))),
    Demo("SH02", "XUE", "M", 1987, 2, ()),
]


class Command(BaseCommand):
    help = (
        "Create the demo study (idempotent) and print the logins. Only with DEBUG on, "
        "unless --random-passwords."
    )
    # The check that refuses the demo password (accounts.E001) must not block the command
    # that replaces it with random passwords.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--random-passwords",
            action="store_true",
            help=(
                "Give each account created, and each one still holding the demo password, "
                "a random password, printed once (required when DEBUG is off)."
            ),
        )

    def handle(self, *args, **options):
        self._random = options["random_passwords"]
        if not settings.DEBUG and not self._random:
            raise CommandError(
                "seed_demo gives every account the published demo password, so it runs only "
                "with DEBUG on. On a server with DEBUG off use --random-passwords: each "
                "account then gets a random password, printed once."
            )
        self._passwords = {}  # username -> password set by this run
        with transaction.atomic():
            sites = {code: self._site(code, name, tz) for code, name, tz in SITES}
            users = self._users(sites)
            with audit_context(context="seed_demo"):
                created = sum(self._seed_subject(d, sites[d.site], users) for d in DEMOS)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo study ready: {len(sites)} sites, {Subject.objects.count()} subjects "
                f"({created} new)."
            )
        )
        if not self._random:
            self.stdout.write(f"Logins (password for all: {DEMO_PASSWORD}):")
            for username, label in users["_logins"]:
                self.stdout.write(f"  {username:<14} {label}")
            return
        self.stdout.write("Logins (new passwords are shown once, here only; note them now):")
        for username, label in users["_logins"]:
            password = self._passwords.get(username, "(password unchanged)")
            self.stdout.write(f"  {username:<14} {label:<34} {password}")

    def _site(self, code, name, tz) -> Site:
        site, _ = Site.objects.get_or_create(code=code, defaults={"name": name, "time_zone": tz})
        add_reference_ranges(site)
        return site

    def _user(self, username, first, last, *, staff=False):
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "is_staff": staff,
                "is_superuser": staff,
                "email": f"{username}@example.org",
            },
        )
        if self._random and (created or has_demo_password(user)):
            password = secrets.token_urlsafe(18)  # 144 random bits
        elif created:
            password = DEMO_PASSWORD
        else:
            return user
        user.set_password(password)
        user.save()
        self._passwords[username] = password
        return user

    def _password_of(self, user) -> str:
        """The password to e-sign as ``user`` with: set by this run, else the demo one."""
        password = self._passwords.get(user.get_username())
        if password is not None:
            return password
        if self._random:
            raise CommandError(
                f"New demo subjects need {user.get_username()}'s e-signature, but its password "
                "was not set by this run. Run once without existing demo accounts."
            )
        return DEMO_PASSWORD

    def _users(self, sites) -> dict:
        users, logins = {}, []
        for code, site in sites.items():
            for prefix, role, first in ROLE_USERS:
                username = f"{prefix}.{code[:2].lower()}"
                user = self._user(username, first, code)
                Membership.objects.get_or_create(user=user, site=site, defaults={"role": role})
                users[(code, role)] = user
                logins.append((username, f"{role.label}, {site.code}"))
        monitor = self._user("monitor", "Mei", "Monitor")
        for site in sites.values():
            Membership.objects.get_or_create(
                user=monitor, site=site, defaults={"role": Role.MONITOR}
            )
        logins.append(("monitor", "Monitor, all sites"))
        dm = self._user("datamanager", "Dana", "Manager", staff=True)
        Membership.objects.get_or_create(user=dm, site=None, defaults={"role": Role.DATA_MANAGER})
        logins.append(("datamanager", "Data manager (admin), all sites"))
        users["_logins"] = logins
        return users

    def _seed_subject(self, demo: Demo, site: Site, users) -> bool:
        if Subject.objects.filter(site=site, initials=demo.initials).exists():
            return False
        today = site.today()
        by = users[(site.code, Role.COORDINATOR)]
        subject = services.register_subject(
            site=site,
            by=by,
            sex=demo.sex,
            date_of_birth=dt.date(demo.birth_year, 6, 15),
            year_of_birth=None,
            initials=demo.initials,
            consent_date=today - dt.timedelta(days=demo.consent_ago),
            consent_version="2.1",
        )
        self._record(subject, "SCR", subject.consent_date + dt.timedelta(days=1), by, today)
        if demo.initials == "ZWL":  # screening data entered, awaiting the investigator
            save_screening(
                subject=subject,
                expected_version=None,
                by=by,
                changes=eligible_screening_data(subject),
            )
        self._progresses = any("Progressive" in str(step[2]) for step in demo.path)
        for i, (status, ago, extra) in enumerate(demo.path):
            later = demo.path[i + 1][1] if i + 1 < len(demo.path) else 0
            until = today - dt.timedelta(days=later)
            subject = self._step(subject, status, today - dt.timedelta(days=ago), extra, by, until)
        return True

    def _step(self, subject, status, on_date, extra, by, until):
        kwargs = {"reason": ""}
        if status == S.ENROLLED:
            kwargs["c1d1"] = subject.site.today() - dt.timedelta(days=extra)
            self._sign_eligibility(subject, on_date, kwargs["c1d1"], by)
        elif status == S.SCREEN_FAILED:
            # ALT 124 U/L = 3.1 x ULN 40 without liver metastases: I08 not met
            data = eligible_screening_data(subject, anchor=on_date, alt_value=Decimal("124"))
            save_screening(subject=subject, changes=data, expected_version=None, by=by)
            kwargs["reason"] = failure_reason(evaluate(subject, enrolment_date=on_date))
        elif status == S.ON_TREATMENT:
            self._treat(subject, on_date, extra, by, until)
            subject.refresh_from_db()
        elif status == S.OFF_TREATMENT:
            kwargs["reason"] = extra
            kwargs["last_dose"] = self._last_dose(subject, on_date)
        else:
            kwargs["reason"] = extra
        if status != S.ON_TREATMENT:
            subject = services.change_status(
                subject=subject,
                target=status,
                on_date=on_date,
                by=by,
                expected_version=subject.version,
                **kwargs,
            )
        if status == S.OFF_TREATMENT:
            self._record(subject, "EOT", on_date + dt.timedelta(days=2), by, subject.site.today())
        return subject

    def _sign_eligibility(self, subject, on_date, c1d1, by):
        """Eligible screening data, signed by the site's investigator with the demo password."""
        data = eligible_screening_data(subject, anchor=on_date, planned_c1d1=c1d1)
        save_screening(subject=subject, changes=data, expected_version=None, by=by)
        investigator = Membership.objects.get(site=subject.site, role=Role.INVESTIGATOR).user
        request = HttpRequest()
        request.META["REMOTE_ADDR"] = "127.0.0.1"
        subject.refresh_from_db()
        sign_eligibility(
            subject=subject,
            by=investigator,
            password=self._password_of(investigator),
            expected_hash=data_hash(subject, get_screening(subject)),  # what the verdict showed
            attested=pending_attestations(evaluate(subject)),  # the judgement criteria
            request=request,
        )

    def _treat(self, subject, c1d1, delay_cycle3, by, until):
        """Start treatment on C1D1 and record every cycle whose day 1 passed before ``until``."""
        subject = services.change_status(
            subject=subject,
            target=S.ON_TREATMENT,
            on_date=c1d1,
            reason="",
            by=by,
            expected_version=subject.version,
        )
        today = until
        for n in range(1, 40):
            visit = subject.visits.filter(code=f"C{n}D1").first()
            if visit is None or visit.target_date >= today:
                break
            actual = visit.target_date + dt.timedelta(days=delay_cycle3 if n == 3 else 0)
            if actual >= today:
                break
            self._record(subject, visit.code, actual, by, today)
        for visit in subject.visits.filter(kind="tumour_assessment", target_date__lt=today):
            self._record(subject, visit.code, visit.target_date, by, today)
        self._tumour(subject, c1d1, by, today)
        self._safety(subject, by, today)

    def _safety(self, subject, by, until):
        """A lab panel at C2D1 (ANC 1.2: grade 2, left for the coordinator to record as an AE)
        and a grade 2 hypertension whose causality the investigator signed; the subject who
        stopped for grade 3 hypertension has it as a serious AE whose initial report is overdue
        (the SAE listing shows it on top)."""
        from safety.models import CtcaeTerm
        from safety.services import (
            load_ctcae,
            record_ae,
            record_lab_panel,
            sign_causality,
        )

        visit = subject.visits.filter(code="C2D1", actual_date__isnull=False).first()
        if visit is None or visit.actual_date >= until:
            return
        if not CtcaeTerm.objects.exists():
            load_ctcae()
        day = visit.actual_date
        record_lab_panel(
            subject=subject,
            by=by,
            sample_date=day,
            visit=visit,
            values={
                "hb": ("118", "g/L"),
                "wbc": ("4.1", "10^9/L"),
                "anc": ("1.2", "10^9/L"),
                "plt": ("160", "10^9/L"),
                "alt": ("52", "U/L"),
                "tsh": ("5.1", "mIU/L"),
            },
            systolic=148,
            diastolic=92,
        )
        severe = subject.initials == "SUN"
        ae = record_ae(
            subject=subject,
            by=by,
            term=CtcaeTerm.objects.get(term="Hypertension"),
            grade=3 if severe else 2,
            onset_date=day,
            ongoing=True,
            outcome="not_recovered",
            treatment_given="Amlodipine 5 mg once daily",
            serious=severe,
            sae_hospitalisation=severe,
            learned_on=dt.datetime.combine(day, dt.time(10), tzinfo=subject.site.tz),
        )
        investigator = Membership.objects.get(site=subject.site, role=Role.INVESTIGATOR).user
        request = HttpRequest()
        request.META["REMOTE_ADDR"] = "127.0.0.1"
        sign_causality(
            ae=ae,
            by=investigator,
            relationship="probable",
            password=self._password_of(investigator),
            request=request,
        )

    def _tumour(self, subject, c1d1, by, until):
        """RECIST baseline (3 targets, 1 non-target) and a scan at every tumour-assessment visit
        before ``until``: shrinking to a confirmed PR, or progressing at the last scan when the
        subject stops for progressive disease."""
        from assessments.services import record_baseline, record_timepoint

        scan = c1d1 - dt.timedelta(days=7)
        sizes = {"T1": Decimal("52"), "T2": Decimal("34"), "T3": Decimal("24")}
        organs = {"T1": "liver", "T2": "lung", "T3": "lymph node"}
        record_baseline(
            subject=subject,
            by=by,
            targets=[
                {
                    "lesion_id": lid,
                    "organ": organs[lid],
                    "location": {"T1": "segment VII", "T2": "right lower lobe"}.get(
                        lid, "retroperitoneal"
                    ),
                    "method": "CT",
                    "slice_thickness_mm": 5,
                    "is_node": lid == "T3",
                    "baseline_date": scan,
                    "diameter_mm": mm,
                }
                for lid, mm in sizes.items()
            ],
            non_targets=[
                {"lesion_id": "NT1", "organ": "bone", "location": "L3", "method": "CT"}
                | {"baseline_date": scan}
            ],
        )
        visits = list(
            subject.visits.filter(kind="tumour_assessment", target_date__lt=until).order_by(
                "target_date"
            )
        )
        factors = [Decimal("0.85"), Decimal("0.68"), Decimal("0.66"), Decimal("0.65")]
        for k, visit in enumerate(visits):
            last_pd = self._progresses and k == len(visits) - 1
            factor = factors[min(k, len(factors) - 1)]
            if last_pd:
                factor = factors[min(k - 1, len(factors) - 1)] * Decimal("1.3") if k else 1
            record_timepoint(
                subject=subject,
                by=by,
                scan_date=visit.target_date,
                measurements={
                    lid: ("measured", (mm * factor).quantize(Decimal("0.1")))
                    for lid, mm in sizes.items()
                },
                non_target_status="non-CR/non-PD",
                new_lesion="yes" if last_pd and k == 0 else "no",
            )

    def _last_dose(self, subject, decision: dt.date) -> dt.date:
        last_cycle = (
            subject.visits.filter(kind="cycle", actual_date__lte=decision)
            .order_by("-actual_date")
            .first()
        )
        start = last_cycle.actual_date if last_cycle else subject.c1d1_date
        return min(start + dt.timedelta(days=13), decision)

    def _record(self, subject, code, actual, by, today):
        visit = subject.visits.filter(code=code).first()
        if visit is None or actual > today or visit.actual_date:
            return
        services.record_visit(
            visit=visit,
            expected_version=visit.version,
            actual_date=actual,
            missed=False,
            note="",
            by=by,
        )
