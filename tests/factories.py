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


RANGES = [  # (analyte, unit, lln, uln): a typical Chinese hospital laboratory
    ("creatinine", "umol/L", "45", "97"),
    ("bun", "mmol/L", "2.9", "7.1"),
    ("bilirubin", "umol/L", "3.4", "21"),
    ("ast", "U/L", "8", "40"),
    ("alt", "U/L", "7", "40"),
]


def add_reference_ranges(site: Site, valid_from=dt.date(2020, 1, 1)):
    from decimal import Decimal

    from eligibility.models import ReferenceRange

    for analyte, unit, lln, uln in RANGES:
        ReferenceRange.objects.get_or_create(
            site=site,
            analyte=analyte,
            sex="",
            valid_from=valid_from,
            defaults={"unit": unit, "lln": Decimal(lln), "uln": Decimal(uln)},
        )


def eligible_screening_data(subject, *, anchor=None, **overrides) -> dict:
    """A screening that meets every criterion (values checked by hand against PROTOCOL.md).

    Dates are relative to ``anchor`` (the enrolment date, default today at the site); the
    pregnancy test is today, or the day before the planned C1D1 if that is earlier.
    """
    from decimal import Decimal as D

    today = anchor or subject.site.today()
    c1d1 = overrides.get("planned_c1d1") or today + dt.timedelta(days=5)
    # I09: a pregnancy test within 7 days before C1D1 cannot be done before an enrolment more
    # than 7 days ahead of C1D1, so such a woman is one without childbearing potential.
    woman = subject.sex == "F" and (c1d1 - today).days <= 7
    data = {
        "first_procedure_date": subject.consent_date,
        "planned_c1d1": c1d1,
        "ecog": 1,
        "expected_survival_attested": True,
        "pathologically_confirmed": True,
        "histology": "leiomyosarcoma",
        "histology_other": "",
        "advanced_or_metastatic": True,
        "disease_status": "measurable",
        "liver_metastases": False,
        "brain_metastases": "none",
        "brain_metastases_controlled_since": None,
        "anthracycline_first_line": True,
        "anthracycline_regimen": "doxorubicin + ifosfamide",
        "anthracycline_cycles": 6,
        "best_response": "PR",
        "last_systemic_therapy_date": today - dt.timedelta(days=40),
        "systemic_therapy_planned": False,
        "radiotherapy_type": "none",
        "radiotherapy_date": None,
        "surgery_none": True,
        "surgery_date": None,
        "prior_anlotinib": False,
        "other_trial_none": True,
        "other_trial_date": None,
        "lab_date": today - dt.timedelta(days=2),
        "hb_value": D("120"),
        "hb_unit": "g/L",
        "anc_value": D("3.1"),
        "plt_value": D("210"),
        "creatinine_value": D("70"),
        "creatinine_unit": "umol/L",
        "creatinine_clearance_value": D("92"),
        "bun_value": D("5.0"),
        "bun_unit": "mmol/L",
        "bilirubin_value": D("10"),
        "bilirubin_unit": "umol/L",
        "ast_value": D("25"),
        "alt_value": D("22"),
        "albumin_value": D("40"),
        "albumin_unit": "g/L",
        "lvef_percent": D("62"),
        "echo_date": today - dt.timedelta(days=5),
        "sbp": 122,
        "dbp": 76,
        "on_antihypertensives": False,
        "qtc_ms": 420,
        "fasting_glucose_value": D("5.2"),
        "fasting_glucose_unit": "mmol/L",
        "urine_protein_dipstick": 0,
        "urine_protein_24h_g": None,
        "hbsag_positive": False,
        "hbv_dna_iu_ml": None,
        "hcv_rna_positive": False,
        "childbearing_potential": woman,
        "lactating": False if woman else None,
        "pregnancy_test_date": min(today, c1d1 - dt.timedelta(days=1)) if woman else None,
        "pregnancy_test_type": "serum" if woman else "",
        "pregnancy_test_result": "negative" if woman else "",
        "contraception_agreed": True,
        "other_malignancy_5y": False,
        "unresolved_toxicity_gt1": False,
        "cannot_take_oral": False,
        "effusion_dyspnoea_gt2": False,
        "thyroid_dysfunction": False,
        "cardiac_disease": False,
        "active_infection_ge2": False,
        "infection_needing_antimicrobials": False,
        "seizures_needing_treatment": False,
        "major_vessel_invasion_risk": False,
        "unhealed_wound_or_fracture": False,
        "bleeding_gt3_4w": False,
        "thrombosis_6m": False,
        "psychiatric_or_substance": False,
        "investigator_unsafe_judgement": False,
    }
    data.update(overrides)
    return data


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
        subject=subject, by=investigator, password=PASSWORD, request=request
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
