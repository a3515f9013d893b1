"""Settings of the gunicorn process a benchmark starts: the test settings, with the bench's
URLconf (the app's URLs plus the floor view of ``bench_crf_save``). Never used otherwise."""

from alter_s006.settings_test import *  # noqa: F403

ROOT_URLCONF = "tests.bench.bench_crf_save"
