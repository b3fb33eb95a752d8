"""Settings, read from the environment variables named in docs/contract.md.

Quick start (nothing set): SQLite file in the project, tasks in-process.
Production: DATABASE_URL=postgres://..., CELERY_BROKER_URL=redis://..., DJANGO_SECRET_KEY,
DJANGO_ALLOWED_HOSTS; DJANGO_DEBUG unset (secure cookies, HSTS and the rest switch on).
"""

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off "
            "(生产环境必须设置 DJANGO_SECRET_KEY)."
        )
    SECRET_KEY = "insecure-quick-start-key-do-not-use-in-production"

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "csp",
    "config.apps.ProjectConfig",
    "organisation",
    "consumables",
    "inventory",
    "billing",
    "insurance_platform",
]

MIDDLEWARE = [
    "config.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.i18n.CookieLocaleMiddleware",
    # Before any view or redirect: NUL and control characters in the URL are a 400.
    "config.middleware.RefuseControlCharactersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "config.middleware.IdleSessionTimeoutMiddleware",
    "config.middleware.IntegrationApiOnlyMiddleware",
    "config.middleware.ApiJsonNotFoundMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during login into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "wuma.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "0")),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out username+IP first
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Chinese first, English by switch. Business day = Asia/Shanghai calendar day; storage in UTC.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The switch's choice lives in this cookie for a year (config/i18n.py reads nothing else).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Short date forms per language (zh: 2024-05-01, en: 1 May 2024); see config/formats/.
FORMAT_MODULE_PATH = ["config.formats"]
# Off on purpose: grouping would reach ids, clocks and number inputs too. Amounts and
# counts are grouped by the `money` and `qty` filters (config/templatetags/l10n_extras.py).
USE_THOUSAND_SEPARATOR = False
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.authentication.TokenWithRolesAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: a view without ``allowed_roles`` is open to administrators only.
    "DEFAULT_PERMISSION_CLASSES": ["config.permissions.HasRole"],
    # Only views with a ``throttle_scope`` are limited; counters per worker (CACHES below).
    "DEFAULT_THROTTLE_CLASSES": ["config.throttles.LocalScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        # Generous: a busy ward scanning a trolley never meets it; a runaway script does.
        "scans": os.environ.get("DJANGO_SCAN_RATE", "120/min"),
        "decode": os.environ.get("DJANGO_DECODE_RATE", "30/min"),
    },
    # JSON with a depth limit and no NUL (config/parsers.py); forms and uploads as DRF's.
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "config.openapi.ErrorDocumentingAutoSchema",
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "五码合一耗材追溯 API / Five-code consumables traceability API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Hospital intranets have no internet: serve Swagger UI from the vendored sidecar.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The schema and its docs page are for logged-in users and integration tokens.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
}

# Celery: with no broker configured (the quick start) tasks run in-process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    # The business day that just ended, every night at 00:30 Asia/Shanghai. The run
    # includes the four-price audit of every consumable in force (FOUR_PRICE_MISALIGNED).
    "reconcile-previous-day": {
        "task": "billing.tasks.reconcile_previous_day",
        "schedule": crontab(hour=0, minute=30),
    },
    # The previous month's top three go on the watch list (Tianjin's 前三名连续三个月监测),
    # on the 1st at 06:00, after the night run of the month's last day.
    "watch-list-previous-month": {
        "task": "billing.tasks.watch_list_previous_month",
        "schedule": crontab(day_of_month=1, hour=6, minute=0),
    },
    # The national platform's outbox, every minute (records wait there while the broker or
    # the platform is down; nothing on the bedside path waits for this).
    "send-platform-uploads": {
        "task": "insurance_platform.tasks.send_uploads",
        "schedule": 60.0,
    },
}

# The national insurance platform (进销存 and traceability-code uploads). No address: the
# bundled platform double on this machine (``manage.py platform_double``; ``make run``
# starts it). The institution code (定点医药机构编号) and the signing secret come from the
# insurance bureau.
INSURANCE_PLATFORM_DOUBLE_PORT = int(os.environ.get("INSURANCE_PLATFORM_DOUBLE_PORT", "8010"))
INSURANCE_PLATFORM_URL = os.environ.get("INSURANCE_PLATFORM_URL", "").rstrip("/")
INSURANCE_FIXMEDINS_CODE = os.environ.get("INSURANCE_FIXMEDINS_CODE", "H00000000000")
INSURANCE_PLATFORM_SECRET = os.environ.get("INSURANCE_PLATFORM_SECRET", "")

# Reconciliation: a department/chargeable item whose abs(used - billed) / used exceeds this
# (percent, up to 2 places) is reported as VARIANCE_OVER_THRESHOLD (the target: within 5%).
RECONCILIATION_VARIANCE_THRESHOLD_PCT = os.environ.get("RECONCILIATION_THRESHOLD_PCT", "5")

# High-value use approval (高值耗材使用审批): a use whose charge price in force is at or above
# the threshold (yuan) needs an approval recorded on the encounter. "flag" records the use
# with the warning NO_HIGH_VALUE_APPROVAL; "block" refuses it (APPROVAL_REQUIRED).
BILLING_HIGH_VALUE_THRESHOLD = Decimal(os.environ.get("BILLING_HIGH_VALUE_THRESHOLD", "10000"))
BILLING_HIGH_VALUE_MODE = os.environ.get("BILLING_HIGH_VALUE_MODE", "flag").strip().lower()
if BILLING_HIGH_VALUE_MODE not in {"flag", "block"}:
    raise ImproperlyConfigured('BILLING_HIGH_VALUE_MODE must be "flag" or "block".')

# A use without a doctor order: off (the default) records it and the audit reports NO_ORDER;
# on, it is refused with 409 NO_ORDER (无医嘱不得使用).
BILLING_REFUSE_USE_WITHOUT_ORDER = env_bool("BILLING_REFUSE_USE_WITHOUT_ORDER")

# 事中 at the HIS boundary: each charge keyed in at HIS is checked as it arrives
# (billing.rules.BOUNDARY_CHECKS). A kind listed here refuses the charge (409 CHARGE_REFUSED,
# nothing recorded but the refusal); every other check answers a warning (the default).
HIS_CHARGE_CHECKS = (
    "PRICE_MISMATCH",
    "CHARGE_WITHOUT_ORDER",
    "CHARGE_OVER_ORDER",
    "SELF_PAY_WITHOUT_CONSENT",
    "SPLIT_CHARGE",
)


def env_kinds(name: str, allowed: tuple[str, ...]) -> frozenset[str]:
    """A comma list of finding kinds from the environment, each one of ``allowed``."""
    kinds = frozenset(k.strip().upper() for k in os.environ.get(name, "").split(",") if k.strip())
    unknown = sorted(kinds - set(allowed))
    if unknown:
        raise ImproperlyConfigured(
            f"{name}: unknown kind(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}."
        )
    return kinds


HIS_CHARGE_REFUSE = env_kinds("HIS_CHARGE_REFUSE", HIS_CHARGE_CHECKS)

# The discharge gate (出院预审核): while findings of these kinds stand on an encounter (and the
# follow-up has not resolved them), HIS's discharge is answered 409 OPEN_FINDINGS. Empty: off.
ENCOUNTER_FINDING_KINDS = (
    "UNBILLED_USE",
    "CHARGE_WITHOUT_USE",
    "DUPLICATE_CHARGE",
    "PRICE_MISMATCH",
    "CHARGE_WITHOUT_ORDER",
    "SPLIT_CHARGE",
    "SUBSTITUTION",
    "SELF_PAY_WITHOUT_CONSENT",
    "CHARGE_OVER_ORDER",
)
DISCHARGE_GATE_KINDS = env_kinds("DISCHARGE_GATE_KINDS", ENCOUNTER_FINDING_KINDS)

# A reconciliation run left "running" longer than this (seconds) is taken to have died with its
# worker, and the day may be run again.
RECONCILIATION_STALE_SECONDS = int(os.environ.get("RECONCILIATION_STALE_SECONDS", "3600"))

# The hospital's name on printed lists (the patient's daily list 一日清单); empty: "医院".
HOSPITAL_NAME = os.environ.get("HOSPITAL_NAME", "")

# Bedside page: the same lot-tracked code read twice within this many seconds is a scanner
# that fired twice until the nurse says otherwise (再加一件): the page asks, it does not charge.
BEDSIDE_REPEAT_SCAN_SECONDS = float(os.environ.get("DJANGO_BEDSIDE_REPEAT_SCAN_SECONDS", "2"))

# Event times from scanners and HIS (docs/contract.md, TIME_OUT_OF_RANGE): at most 5 minutes ahead
# of the server clock, and no older than this many hours (the offline queue and HIS catch-up
# stay well inside it; the time picks the price, so it may not roam).
SCAN_BACKDATE_HOURS = int(os.environ.get("DJANGO_SCAN_BACKDATE_HOURS", "72"))
if not 1 <= SCAN_BACKDATE_HOURS <= 24 * 366:  # beyond a year is no window (nor overflows)
    raise ImproperlyConfigured("DJANGO_SCAN_BACKDATE_HOURS must be 1 to 8784 hours.")

# Security headers on by default; cookies secure whenever not in DEBUG.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("DJANGO_SESSION_AGE", str(8 * 3600)))
# A ward PC left unattended: logged out after this many idle seconds (config/middleware.py).
SESSION_IDLE_TIMEOUT = int(os.environ.get("DJANGO_SESSION_IDLE", str(30 * 60)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
# Paths served to API clients (integration accounts may use nothing else).
API_PATH_PREFIXES = ("/api/",)

# Login lockout (django-axes): 5 failures for one username from one address lock that
# pair for 15 minutes; the count lives in the database, shared by every worker.
AXES_FAILURE_LIMIT = int(os.environ.get("DJANGO_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("DJANGO_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind the TLS proxy the client address is in X-Forwarded-For (number of proxies in front).
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("DJANGO_PROXY_COUNT", "0")) or None

# Cache: Redis in production (DJANGO_CACHE_URL, else a redis:// Celery broker), local
# memory in the quick start. API rate-limit counters live in a local-memory cache of their
# own in every worker process: the bedside path never waits for Redis (docs/architecture.md,
# invariant 7), at the price of a limit counted per worker (rate x workers for one user at worst,
# still a stop for a runaway script; login brute force is axes' job, in the database).
CACHE_URL = os.environ.get("DJANGO_CACHE_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
)
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": f"wuma:{DATABASES['default'].get('NAME') or 'default'}",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    ),
    "throttle": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "throttle",
    },
}

# Uploads: request bodies held in memory are bounded; each upload endpoint also checks
# the size and the type of what it accepts (config/uploads.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
UPLOAD_MAX_IMPORT_BYTES = int(os.environ.get("DJANGO_MAX_IMPORT_BYTES", str(20 * 1024 * 1024)))

# Content Security Policy (django-csp): scripts and stylesheets from this server only
# (inline <script> only with the per-request nonce); style attributes are allowed because
# they cannot run code and several pages size inputs with them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "style-src-elem": ["'self'", NONCE],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# DJANGO_HTTPS=0 only for a plain-HTTP intranet without TLS (then check --deploy warns).
if not DEBUG and env_bool("DJANGO_HTTPS", True):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}
