"""Benchmark, run by hand (not collected by the suite):

    TEST_DATABASE_NAME=bench_h9_crf .venv/bin/pytest tests/bench/bench_crf_save.py -s \
        -p no:cacheprovider

    BENCH_ROUNDS=60 (default); BENCH_SERVER=client: Django's test client instead of gunicorn;
    BENCH_CONN_MAX_AGE=0: gunicorn opens a new database connection per request (as before
    issue 12), default the settings' CONN_MAX_AGE.

Issue 12, goal 1: a CRF save within 2x of a bare insert. Interleaved in one run, each round
times one request of each kind, over HTTP to gunicorn (gthread, 2 workers x 8 threads, one
kept-alive client connection) serving this database with committed transactions (the test
is transactional=True, nothing is wrapped in a test transaction):

- ``floor``: a bare Django view doing one INSERT into a plain table, behind the same
  middleware, registered only here (this module is the test URLconf);
- ``AE POST``: ``POST /api/v1/subjects/<id>/adverse-events`` (grade 1, not serious);
- ``AE PATCH``: ``PATCH /api/v1/adverse-events/<id>`` (one field, reason, version);
- ``lab panel POST``: ``POST /api/v1/subjects/<id>/lab-panels`` (6 values, all normal);
- ``screening PUT``: ``PUT /api/v1/subjects/<id>/screening``, a correction of one field
  (reason, version).

The safety writes rotate over ``SUBJECTS`` treated subjects (each gets ROUNDS/SUBJECTS AEs
and panels). Prints the median (and p90) of each, its ratio to the floor's median, the load
average before and after, then each save path's SQL statements (CaptureQueriesContext, on
one extra request outside the timing).
"""

from __future__ import annotations

import contextlib
import cProfile
import datetime as dt
import http.client
import json
import os
import pstats
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from accounts.models import ApiToken
from audit.db_roles import owner_connection
from eligibility.demo import eligible_screening_data
from safety.models import CtcaeTerm
from safety.services import load_ctcae
from subjects import services as subject_services
from tests.factories import enrol, make_subject

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.bench.bench_crf_save"),
]

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "60"))
SUBJECTS = 5
API = "/api/v1"
FLOOR_TABLE = "bench_floor"
# gunicorn over HTTP when installed (as the issue measured), else the test client
GUNICORN = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
SERVER = os.environ.get("BENCH_SERVER", "gunicorn" if Path(GUNICORN).exists() else "client")
# the server's CONN_MAX_AGE (BENCH_CONN_MAX_AGE=0: a new connection per request, as before)
# BENCH_PROFILE=cumulative (or tottime) with BENCH_SERVER=client: cProfile of the timed rounds
PROFILE = os.environ.get("BENCH_PROFILE", "")
ONLY = [o for o in os.environ.get("BENCH_ONLY", "").split(",") if o]
SERVER_CONN_MAX_AGE = int(os.environ.get("BENCH_CONN_MAX_AGE", settings.CONN_MAX_AGE))


@csrf_exempt
def floor(request):
    """The floor: one INSERT of the posted body, nothing else (no auth, no checks)."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {FLOOR_TABLE} (body) VALUES (%s)", [request.body.decode()])  # noqa: S608
    return JsonResponse({"ok": True}, status=201)


urlpatterns = [
    path("bench/floor/", floor),
    path("", include("alter_s006.urls")),
]


def _create_floor_table() -> None:
    app_role = connection.settings_dict["USER"]
    with owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (id bigserial PRIMARY KEY, body text, "
            "created_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor.execute(f'GRANT SELECT, INSERT ON {FLOOR_TABLE} TO "{app_role}"')
        cursor.execute(f'GRANT USAGE ON SEQUENCE {FLOOR_TABLE}_id_seq TO "{app_role}"')


def _treated(site, by, initials):
    today = site.today()
    c1d1 = today - dt.timedelta(days=28)
    subject = make_subject(site, by, initials=initials, consent_date=c1d1 - dt.timedelta(10))
    subject = enrol(subject, by=by, on_date=c1d1 - dt.timedelta(days=2), c1d1=c1d1)
    return subject_services.change_status(
        subject=subject,
        target="on_treatment",
        on_date=c1d1,
        reason="",
        by=by,
        expected_version=subject.version,
    )


class Caller:
    """One JSON request with the coordinator's token, through the test client."""

    def __init__(self, client, token):
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def __call__(self, method, url, body, expect):
        response = self.client.generic(
            method,
            url,
            data=json.dumps(body, default=str) if body is not None else "",
            content_type="application/json",
            headers=self.headers,
        )
        assert response.status_code == expect, (url, response.status_code, response.content)
        return response.json()


class HttpCaller:
    """The same request over HTTP to a gunicorn server (one kept-alive connection)."""

    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def __call__(self, method, url, body, expect):
        self.conn.request(
            method,
            url,
            body=json.dumps(body, default=str) if body is not None else None,
            headers=self.headers,
        )
        response = self.conn.getresponse()
        content = response.read()
        assert response.status == expect, (url, response.status, content[:500])
        return json.loads(content)


@contextlib.contextmanager
def gunicorn_server():
    """gunicorn (gthread, 2 workers x 8 threads) serving the bench's URLconf on this database."""
    s = connection.settings_dict
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.bench.bench_settings",
        "DATABASE_URL": f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
        f"/{s['NAME']}",
        "AUDIT_CHECKPOINT_FILE": str(settings.AUDIT_CHECKPOINT_FILE),
        "CONN_MAX_AGE": str(SERVER_CONN_MAX_AGE),
    }
    if s["PASSWORD"]:
        env["DATABASE_URL"] = env["DATABASE_URL"].replace(
            f"//{s['USER']}@", f"//{s['USER']}:{s['PASSWORD']}@"
        )
    process = subprocess.Popen(  # noqa: S603
        [
            GUNICORN,
            "alter_s006.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            "2",
            "--threads",
            "8",
            "--log-level",
            "warning",
        ],  # fmt: skip
        env=env,
        cwd=settings.BASE_DIR,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _lab_values(n: int) -> dict:
    return {
        "hb": {"value": str(130 + n % 5), "unit": "g/L"},
        "wbc": {"value": "6.2", "unit": "10^9/L"},
        "anc": {"value": "3.1", "unit": "10^9/L"},
        "plt": {"value": "210", "unit": "10^9/L"},
        "alt": {"value": "22", "unit": "U/L"},
        "ast": {"value": "25", "unit": "U/L"},
    }


def test_bench_crf_save(client, site_a, coordinator_a, investigator_a):
    load_before = os.getloadavg()
    if not CtcaeTerm.objects.exists():
        load_ctcae()
    _create_floor_table()
    treated = [_treated(site_a, coordinator_a, f"CR{chr(65 + i)}") for i in range(SUBJECTS)]
    screening_subject = make_subject(site_a, coordinator_a, initials="SCR")
    token = ApiToken.issue(coordinator_a)[1]
    in_process = Caller(client, token)
    today = site_a.today()
    term = CtcaeTerm.objects.get(term="Hypertension")

    def ae_body(n):
        return {
            "term_id": term.pk,
            "grade": 1,
            "onset_date": (today - dt.timedelta(days=3)).isoformat(),
            "ongoing": True,
            "outcome": "not_recovered",
            "treatment_given": f"none {n}",
        }

    # one AE per subject to PATCH, and the screening's first save (201)
    patched = {
        s.pk: in_process("POST", f"{API}/subjects/{s.pk}/adverse-events", ae_body(0), 201)
        for s in treated
    }
    first = in_process(
        "PUT",
        f"{API}/subjects/{screening_subject.pk}/screening",
        eligible_screening_data(screening_subject),
        201,
    )
    state = {"screening_version": first["screening"]["version"]}

    def do_floor(call, n, s):
        call("POST", "/bench/floor/", ae_body(n), 201)

    def do_ae_post(call, n, s):
        call("POST", f"{API}/subjects/{s.pk}/adverse-events", ae_body(n), 201)

    def do_ae_patch(call, n, s):
        ae = patched[s.pk]
        body = {"version": ae["version"], "reason": f"bench {n}", "treatment_given": f"rest {n}"}
        patched[s.pk] = call("PATCH", f"{API}/adverse-events/{ae['id']}", body, 200)

    def do_lab_post(call, n, s):
        body = {"sample_date": (today - dt.timedelta(days=1)).isoformat(), "values": _lab_values(n)}
        call("POST", f"{API}/subjects/{s.pk}/lab-panels", body, 201)

    def do_screening(call, n, s):
        body = {"version": state["screening_version"], "reason": f"bench {n}", "sbp": 120 + n % 2}
        saved = call("PUT", f"{API}/subjects/{screening_subject.pk}/screening", body, 200)
        state["screening_version"] = saved["screening"]["version"]

    # references, not saves: what an API request costs before any CRF work (token, access,
    # django-ninja, the JSON response), and the read-back of one AE alone
    def do_api_sites(call, n, s):
        call("GET", f"{API}/sites", None, 200)

    def do_ae_get(call, n, s):
        call("GET", f"{API}/adverse-events/{patched[s.pk]['id']}", None, 200)

    paths = {
        "floor (1 INSERT)": do_floor,
        "ref: API GET /sites": do_api_sites,
        "ref: API GET one AE": do_ae_get,
        "AE POST": do_ae_post,
        "AE PATCH": do_ae_patch,
        "lab panel POST": do_lab_post,
        "screening PUT": do_screening,
    }
    if ONLY:  # BENCH_ONLY="AE POST,ref": the floor and the paths whose name contains one of these
        paths = {
            k: v for k, v in paths.items() if k.startswith("floor") or any(o in k for o in ONLY)
        }
    times = {name: [] for name in paths}
    with contextlib.ExitStack() as stack:
        if SERVER == "gunicorn":
            timed = HttpCaller(stack.enter_context(gunicorn_server()), token)
        else:
            timed = in_process
        for do in paths.values():  # warm up every path (and every worker thread's connection)
            for _ in range(3):
                do(timed, 0, treated[0])
        profiler = cProfile.Profile() if PROFILE else None
        for n in range(1, ROUNDS + 1):
            subject = treated[n % SUBJECTS]
            if profiler and SERVER == "client":
                profiler.enable()
            for name, do in paths.items():
                t0 = time.perf_counter()
                do(timed, n, subject)
                times[name].append((time.perf_counter() - t0) * 1000)
            if profiler and SERVER == "client":
                profiler.disable()
    if profiler and SERVER == "client":
        pstats.Stats(profiler).sort_stats(PROFILE).print_stats(
            os.environ.get("BENCH_PROFILE_FILTER", ""), 45
        )
    load_after = os.getloadavg()
    statements = {}
    for name, do in paths.items():  # in process, on one more request of each, untimed
        with CaptureQueriesContext(connection) as ctx:
            do(in_process, ROUNDS + 1, treated[0])
        statements[name] = [q["sql"] for q in ctx.captured_queries]

    floor_ms = statistics.median(times["floor (1 INSERT)"])
    print()
    print(
        f"CRF saves, {'gunicorn gthread 2x8 over HTTP' if SERVER == 'gunicorn' else 'test client'}"
        f", {ROUNDS} interleaved rounds, {os.cpu_count()} cores, "
        f"CONN_MAX_AGE={SERVER_CONN_MAX_AGE if SERVER == 'gunicorn' else settings.CONN_MAX_AGE}"
        f"; load average before "
        f"{' '.join(f'{x:.2f}' for x in load_before)}, after "
        f"{' '.join(f'{x:.2f}' for x in load_after)}"
    )
    print(f"{'save':<22} {'median ms':>9} {'p90 ms':>8} {'x floor':>8} {'SQL':>5}")
    for name, values in times.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        print(
            f"{name:<22} {median:>9.1f} {p90:>8.1f} {median / floor_ms:>8.2f} "
            f"{len(statements[name]):>5}"
        )
    for name, sqls in statements.items():
        print(f"\n--- {name}: {len(sqls)} SQL statements")
        for i, sql in enumerate(sqls, 1):
            text = " ".join(sql.split())
            print(f"{i:>3}. {text[:220]}{' ...' if len(text) > 220 else ''}")
