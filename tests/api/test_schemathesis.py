"""Schemathesis against /api/v1/openapi.json (issue 10): requests generated from the document,
valid and invalid, sent through the WSGI application with an investigator's token.

Checks, on every operation: no server error; every status code, content type and response
body as documented; every request that violates the document refused. Bounded (issue 11: the
suite's time): the coverage phase's boundary cases of every parameter and body property, of
which at most ``WRONG_TYPES`` wrong-type values each (one wrong type reaches the same
validation as five), then ``MAX_EXAMPLES`` random requests per operation, with a fixed seed.
Each request runs in a savepoint rolled back after it: every case meets the same records.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.generation.meta import CoverageScenario, TestPhase

from accounts.models import ApiToken
from assessments import services as assessments
from dosing import services as dosing
from safety import services as safety
from safety.models import CtcaeTerm
from subjects import services as subjects
from tests.factories import enrol, make_subject

TOKEN = "alt_schemathesis-test-token-not-a-secret-0123456789"  # noqa: S105
MAX_EXAMPLES = 5  # random requests per operation, after the coverage phase's boundary cases
WRONG_TYPES = 2  # wrong-type values sent for each parameter or property (of up to six)

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261010,
        "headers": {"Authorization": f"Bearer {TOKEN}"},
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "with-security-parameters": False,  # the token is always sent; 401 is tested apart
        },
        "phases": {
            "examples": {"enabled": False},
            "coverage": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "negative_data_rejection": {"enabled": True},
        },
        "operations": [
            {
                # a PDF (a casebook renders for seconds): one request proves its contract
                "include-path-regex": "/pdf$",
                "generation": {"max-examples": 1},
                "phases": {"coverage": {"enabled": False}},
            },
            {
                # Reads: a request the document allows is answered (or its record is not ours)
                "include-method": "GET",
                "checks": {
                    "positive_data_acceptance": {
                        "enabled": True,
                        "expected-statuses": ["2XX", "404"],
                    }
                },
            },
        ],
    }
)


@pytest.fixture
def api_schema(request, world, wsgi_in_test_transaction):
    """The document as served; every operation then runs against the same stored records
    (one test, one set-up: building the records takes longer than testing an operation)."""
    # schemathesis 4.32 names each operation's subtest through ``node._nodeid``, which
    # pytest 9 no longer has (its ``nodeid`` is computed): give it one to read.
    request.node._nodeid = request.node.nodeid
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler(), config=CONFIG)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def world(db, site_a, coordinator_a, investigator_a, settings):
    """A treated subject of site A with a visit, a dispensing, a serious AE with its SAE
    report, a lab panel, baseline lesions and a tumour assessment: ids for the paths."""
    settings.AXES_FAILURE_LIMIT = 10**6  # wrong signing passwords must not lock the token out
    ApiToken.objects.create(user=investigator_a, prefix=TOKEN[:8], key_hash=ApiToken.hash(TOKEN))
    if not CtcaeTerm.objects.exists():
        safety.load_ctcae()
    today = site_a.today()
    c1d1 = today - dt.timedelta(days=42)
    subject = make_subject(site_a, coordinator_a, consent_date=c1d1 - dt.timedelta(days=10))
    subject = enrol(subject, by=coordinator_a, on_date=c1d1 - dt.timedelta(days=2), c1d1=c1d1)
    subject = subjects.change_status(
        subject=subject,
        target="on_treatment",
        on_date=c1d1,
        reason="",
        by=coordinator_a,
        expected_version=subject.version,
    )
    dispensing = dosing.record_dispensing(
        subject=subject,
        by=coordinator_a,
        dispensed_on=c1d1,
        strength_mg=12,
        lot_number="L2301",
        expiry=today + dt.timedelta(days=365),
        capsules=28,
    )
    ae = safety.record_ae(
        subject=subject,
        by=coordinator_a,
        term=CtcaeTerm.objects.get(term="Hypertension"),
        grade=3,
        onset_date=c1d1 + dt.timedelta(days=10),
        ongoing=True,
        serious=True,
        sae_hospitalisation=True,
        outcome="not_recovered",
    )
    safety.record_lab_panel(
        subject=subject,
        by=coordinator_a,
        sample_date=today - dt.timedelta(days=1),
        values={"anc": (Decimal("0.8"), "10^9/L")},
    )
    [lesion] = assessments.record_baseline(
        subject=subject,
        by=coordinator_a,
        targets=[
            {
                "lesion_id": "T1",
                "organ": "lung",
                "location": "right lower lobe",
                "method": "CT",
                "slice_thickness_mm": Decimal(5),
                "is_node": False,
                "baseline_date": c1d1 - dt.timedelta(days=7),
                "diameter_mm": Decimal(30),
            }
        ],
        non_targets=[],
    )
    timepoint = assessments.record_timepoint(
        subject=subject,
        by=coordinator_a,
        scan_date=c1d1 + dt.timedelta(days=40),
        measurements={"T1": ("measured", Decimal(25))},
        non_target_status="",
        new_lesion="no",
    ).timepoint
    return {
        "subject_id": subject.pk,
        "visit_id": subject.visits.order_by("pk").first().pk,
        "dispensing_id": dispensing.pk,
        "ae_id": ae.pk,
        "report_id": ae.sae_reports.get().pk,
        "lesion_id": lesion.pk,
        "timepoint_id": timepoint.pk,
    }


@pytest.fixture
def wsgi_in_test_transaction():
    """Requests share the test's connection and transaction, as with Django's test client."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def aim_at_records(case, ids: dict) -> None:
    """Most valid ids in a path become ids of stored records (the rest stay, for 404s)."""
    for name, value in case.path_parameters.items():
        if name in ids and isinstance(value, int) and value > 0 and value % 4:
            case.path_parameters[name] = ids[name]


def one_wrong_type_too_many(case, sent: dict) -> bool:
    """Whether ``WRONG_TYPES`` wrong-type values were already sent for this case's parameter
    (the coverage phase makes one per JSON type; all meet the same schema validation)."""
    phase = case.meta.phase
    if phase.name != TestPhase.COVERAGE or phase.data.scenario != CoverageScenario.INCORRECT_TYPE:
        return False
    key = (case.operation.label, phase.data.parameter, phase.data.description)
    sent[key] = sent.get(key, 0) + 1
    return sent[key] > WRONG_TYPES


@pytest.fixture
def wrong_types_sent():
    return {}


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_api_conforms_to_its_openapi_document(case, world, wrong_types_sent):
    if one_wrong_type_too_many(case, wrong_types_sent):
        return
    aim_at_records(case, world)
    with transaction.atomic():  # what the request writes is undone: the next case starts equal
        case.call_and_validate()
        transaction.set_rollback(True)
