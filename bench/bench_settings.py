"""Settings for the benchmarks: the test settings plus the baseline endpoint's URLconf.

Used as ``DJANGO_SETTINGS_MODULE=bench_settings`` with ``bench/`` on the Python path (the
benchmark scripts do both). The product's URLconf is untouched: ``bench_urls`` adds the
baseline route in front of it.
"""

import os

# A benchmark client scans far faster than a nurse: lift the per-user scan rate so the
# throttle still runs (its cache round trip is part of the scan path) but never refuses.
os.environ.setdefault("DJANGO_SCAN_RATE", "1000000/min")

from config.settings_test import *  # noqa: E402,F403

ROOT_URLCONF = "bench_urls"
