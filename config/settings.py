"""ASM Credit settings, read from the environment (see README "Configuration")."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from asmcredit.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set unless DEBUG=true")
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105 - never used with DEBUG off

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "csp",
    "asmcredit",
    "rates",
    "miners",
    "buyers",
    "loans",
    "installments",
    "lifecycle",
    "accounting",
    "notices",
    "reports",
    "config",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # An ETag on every GET answer (a hash of its body) and 304 for a matching If-None-Match: an
    # integration polling a list or a statement downloads it again only when it changed.
    "django.middleware.http.ConditionalGetMiddleware",
    "asmcredit.middleware.MalformedSessionCookieMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "asmcredit.middleware.UserLanguageMiddleware",
    "asmcredit.middleware.ApiErrorMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
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
                "asmcredit.context_processors.lender",
            ],
        },
    },
]

# --- Database: PostgreSQL in production and tests; a SQLite file when DATABASE_URL is unset (demo).
_database_url = env_str("DATABASE_URL")
if _database_url:
    if urlparse(_database_url).scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(f"DATABASE_URL scheme not supported: {_database_url.split(':', 1)[0]!r}")
    try:
        # Persistent connections, checked before each request reuses one: a connection that PostgreSQL
        # or a pooler dropped meanwhile is replaced instead of failing the request with a 500.
        _db = dj_database_url.parse(_database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is malformed: {exc}") from exc
else:
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(BASE_DIR / "demo.sqlite3")}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Lockout after repeated failed logins (django-axes): 5 failures lock the account for 30 minutes,
# whether they came from one address or were spread over many (a botnet guessing one officer's
# password). Each entry is a separate count: the username alone, and the username from one address.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 30) / 60
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env_bool("AXES_ENABLED", default=True)

# --- Language, time zone and number formats (Peru: "." for decimals, "," for thousands).
LANGUAGE_CODE = "es-pe"
LANGUAGES = [("es", _("Spanish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "America/Lima") or "America/Lima"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["asmcredit.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")) or BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (production). `manage.py check --deploy` findings are explained in the README.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Sessions end after SESSION_IDLE_MINUTES without a request: every request saves the session and
# pushes its expiry forward, so an officer's laptop left open at a branch does not stay signed in.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
if SESSION_IDLE_MINUTES < 1:
    raise ImproperlyConfigured("SESSION_IDLE_MINUTES must be at least 1")
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True

# Content-Security-Policy on every response (django-csp): scripts, styles, images and fonts only
# from our own origin, no inline scripts. Inline style attributes remain in the templates (and
# Swagger UI/Redoc inject styles), hence 'unsafe-inline' for styles only; images may be data: URIs
# (Swagger UI's icons).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- The lender running this deployment (single-tenant), shown on screens and PDFs.
LENDER_NAME = env_str("LENDER_NAME", "Caja Rural Los Andes (demo)")
LENDER_RUC = env_str("LENDER_RUC", "20322445564")
LENDER_LOGO = env_str("LENDER_LOGO", str(BASE_DIR / "static" / "img" / "lender-logo.svg"))

# --- SBS regulatory reports (reports.regulatory): the lender's SBS company code for the RCD header, the
# branch (oficina) its loans are booked at, days past due after which a loan is vencido (micro and small
# business: 30), the debt in soles that bounds a micro and a small-business debtor (SBS Res. 11356-2008),
# and the module whose ``account_balances`` / ``loan_account_balances`` the debtor file must tie to.
SBS_COMPANY_CODE = env_str("SBS_COMPANY_CODE", "00000") or "00000"
REGULATORY_BRANCH_CODE = env_str("REGULATORY_BRANCH_CODE", "0001") or "0001"
REGULATORY_VENCIDO_AFTER_DAYS = env_int("REGULATORY_VENCIDO_AFTER_DAYS", 30)
REGULATORY_MICRO_DEBT_LIMIT = env_int("REGULATORY_MICRO_DEBT_LIMIT", 20_000)
REGULATORY_SMALL_DEBT_LIMIT = env_int("REGULATORY_SMALL_DEBT_LIMIT", 300_000)
REGULATORY_LEDGER = env_str("REGULATORY_LEDGER", "reports.regulatory.book") or "reports.regulatory.book"
if not (0 < REGULATORY_MICRO_DEBT_LIMIT < REGULATORY_SMALL_DEBT_LIMIT):
    raise ImproperlyConfigured("REGULATORY_MICRO_DEBT_LIMIT must be positive and below REGULATORY_SMALL_DEBT_LIMIT")

# The lender's phone the miner's statement page and paid-off certificate give for reaching the officer.
LENDER_CONTACT_PHONE = env_str("LENDER_CONTACT_PHONE", "(01) 555-0100") or ""

# Segregation of duties: whoever approved an application may not also disburse it, unless a small
# lender without the staff for it turns this on.
ALLOW_APPROVER_TO_DISBURSE = env_bool("ALLOW_APPROVER_TO_DISBURSE", default=False)

# --- Celery: Redis broker; without CELERY_BROKER_URL tasks run in-process (demo).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or ""
if CELERY_BROKER_URL and urlparse(CELERY_BROKER_URL).scheme not in {"redis", "rediss", "amqp", "memory"}:
    raise ImproperlyConfigured(f"CELERY_BROKER_URL scheme not supported: {CELERY_BROKER_URL!r}")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or (CELERY_BROKER_URL or None)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# With acks_late on Redis, a task whose worker died is delivered again only once it has been unacked for
# the visibility timeout. 15 minutes: ~25x the longest job measured (the national-scale rating, 37 s)
# and the longest report, and well past a queued message's wait with prefetch 1, so a task still
# running is not delivered twice; a killed scheduled job is queued again sooner by the sweeper below.
_visibility_timeout = env_int("CELERY_VISIBILITY_TIMEOUT", 900)
if _visibility_timeout < 1:
    raise ImproperlyConfigured(
        f"CELERY_VISIBILITY_TIMEOUT must be a positive number of seconds, not {_visibility_timeout}"
    )
# Workers look for such messages every 10 s (kombu's default scan is every 100 s).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _visibility_timeout, "unacked_restore_throttle": 1}
# The outbox's publish after commit (asmcredit.outbox): one attempt, bounded, never raising into a request.
OUTBOX_PUBLISH_TIMEOUT = 1.0
# Scheduled jobs the sweeper queues again when their worker died mid-run: JobRun name -> task.
JOB_REQUEUE_TASKS = {
    "nightly_servicing": "installments.tasks.nightly_servicing",
    "accrue_moratory": "installments.tasks.nightly_servicing",
    "rate_portfolio": "installments.tasks.rate_portfolio",
    "reconcile_remittances": "installments.tasks.reconcile_remittances",
}
CELERY_BEAT_SCHEDULE = {
    # The nightly close: the moratory accrual, the rating (provisions) and the loan sub-ledger's postings,
    # each a chord of batches every worker takes from (accounting.close).
    "nightly-close": {
        "task": "accounting.tasks.nightly_close",
        "schedule": crontab(hour=1, minute=30),
    },
    "hourly-reconciliation": {
        "task": "installments.tasks.reconcile_remittances",
        "schedule": crontab(minute=5),
    },
    "nightly-idempotency-purge": {
        "task": "asmcredit.tasks.purge_idempotency",
        "schedule": crontab(hour=3, minute=15),
    },
    # expires: while no worker runs, beat's copies are dropped instead of piling up in the queue.
    "outbox-drain": {
        "task": "asmcredit.tasks.drain_outbox",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    "abandoned-job-sweep": {
        "task": "asmcredit.tasks.sweep_abandoned_jobs",
        "schedule": 120.0,
        "options": {"expires": 110},
    },
    # Messages to miners: reminders and arrears notices made after the nightly run (sent when the law
    # allows), and whatever is due — held collection messages, gateway retries — every minute.
    "miner-collection-messages": {
        "task": "notices.tasks.collection_messages",
        "schedule": crontab(hour=5, minute=0),
    },
    "miner-messages-send-due": {
        "task": "notices.tasks.send_due",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}
# Days before a due date a reminder is made; days past due at which an arrears notice is made.
NOTICES_REMINDER_DAYS = env_int("NOTICES_REMINDER_DAYS", 3)
NOTICES_ARREARS_DAYS = (1, 8, 31)

# --- REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "buyers.authentication.ApiKeyAuthentication",
        "asmcredit.tokens.StaffTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_CLASSES": ["asmcredit.throttling.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"client": env_str("API_THROTTLE_RATE", "600/min")},
    "EXCEPTION_HANDLER": "asmcredit.api.exception_handler",
    # DRF's parsers, with a JSON parser that refuses over-deep nesting and unencodable text (400s).
    "DEFAULT_PARSER_CLASSES": [
        "asmcredit.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
# How long a staff API token (``Authorization: Token``) is valid unless issued with ``--days``.
STAFF_TOKEN_DAYS = env_int("STAFF_TOKEN_DAYS", 90)
if STAFF_TOKEN_DAYS < 1:
    raise ImproperlyConfigured(f"STAFF_TOKEN_DAYS must be at least 1, not {STAFF_TOKEN_DAYS}")
# How long an Idempotency-Key's response is kept for replay; older records are purged nightly.
IDEMPOTENCY_REPLAY_HOURS = env_int("IDEMPOTENCY_REPLAY_HOURS", 72)
if IDEMPOTENCY_REPLAY_HOURS < 1:
    raise ImproperlyConfigured(f"IDEMPOTENCY_REPLAY_HOURS must be at least 1, not {IDEMPOTENCY_REPLAY_HOURS}")
# Settlements dated more than this many days ago are refused (buyers.settlement_input): an old date is a
# wrong year or a replayed file. 400 covers underwriting's window — the 12 full calendar months before
# this one, up to 396 days back — so an officer can still import a new miner's year of sales.
SETTLEMENT_MAX_AGE_DAYS = env_int("SETTLEMENT_MAX_AGE_DAYS", 400)
if SETTLEMENT_MAX_AGE_DAYS < 1:
    raise ImproperlyConfigured(f"SETTLEMENT_MAX_AGE_DAYS must be at least 1, not {SETTLEMENT_MAX_AGE_DAYS}")
# Book migration (lifecycle.book_import): how far a replayed balance may be from the one the lender
# declares and still tie (0.00: to the céntimo).
try:
    BOOK_IMPORT_TOLERANCE = Decimal(env_str("BOOK_IMPORT_TOLERANCE", "0.00") or "0")
except ArithmeticError as exc:
    raise ImproperlyConfigured("BOOK_IMPORT_TOLERANCE must be an amount such as 0.00") from exc
if BOOK_IMPORT_TOLERANCE < 0:
    raise ImproperlyConfigured(f"BOOK_IMPORT_TOLERANCE must not be negative, not {BOOK_IMPORT_TOLERANCE}")
SPECTACULAR_SETTINGS = {
    "TITLE": "ASM Credit API",
    "DESCRIPTION": "Ore settlements, withholdings and remittances for buyer companies; lending operations "
    "for the lender's systems. Every GET answer carries an ETag; sent back in If-None-Match, an unchanged "
    "answer is a 304 Not Modified without a body.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

CACHES = {
    # Short socket timeouts: a cache host that stops answering costs a request one second, after which the
    # throttle counts per process (asmcredit.throttling) instead of hanging every request.
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env_str("CACHE_URL"),
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
    if env_str("CACHE_URL")
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Messages to miners (notices app, DOMAIN.md §10). --------------------------------------------
# NOTICES_BACKEND "console" (the default: demo, tests, and any deployment not yet wired to a provider)
# logs each message and marks it sent; "live" sends e-mail through Django's mail (the EMAIL_* settings
# below) and SMS/WhatsApp through the HTTP gateway (NOTICES_GATEWAY_*).
NOTICES_BACKEND = env_str("NOTICES_BACKEND", "console") or "console"
if NOTICES_BACKEND not in {"console", "live"}:
    raise ImproperlyConfigured(f"NOTICES_BACKEND must be 'console' or 'live', not {NOTICES_BACKEND!r}")
NOTICES_GATEWAY_URL = env_str("NOTICES_GATEWAY_URL", "") or ""
if NOTICES_GATEWAY_URL and urlparse(NOTICES_GATEWAY_URL).scheme not in {"http", "https"}:
    raise ImproperlyConfigured(f"NOTICES_GATEWAY_URL must be an http(s) URL, not {NOTICES_GATEWAY_URL!r}")
if NOTICES_BACKEND == "live" and not NOTICES_GATEWAY_URL:
    raise ImproperlyConfigured("NOTICES_BACKEND=live needs NOTICES_GATEWAY_URL (the SMS/WhatsApp gateway)")
NOTICES_GATEWAY_TOKEN = env_str("NOTICES_GATEWAY_TOKEN", "") or ""  # sent as "Authorization: Bearer …"
# The JSON the gateway receives: every string in it has {to}, {body}, {channel} and {reference} (the
# message's own id, for a provider that deduplicates) replaced, after parsing, so a body with quotes
# or line breaks stays valid JSON.
NOTICES_GATEWAY_PAYLOAD = env_str("NOTICES_GATEWAY_PAYLOAD", "") or (
    '{"to": "{to}", "body": "{body}", "channel": "{channel}", "reference": "{reference}"}'
)
try:
    if not isinstance(json.loads(NOTICES_GATEWAY_PAYLOAD), dict):
        raise ValueError("not a JSON object")
except ValueError as exc:
    raise ImproperlyConfigured(f"NOTICES_GATEWAY_PAYLOAD must be a JSON object: {exc}") from exc
NOTICES_GATEWAY_TIMEOUT = env_int("NOTICES_GATEWAY_TIMEOUT", 10)  # seconds per attempt
if not 1 <= NOTICES_GATEWAY_TIMEOUT <= 60:
    raise ImproperlyConfigured(f"NOTICES_GATEWAY_TIMEOUT must be 1 to 60 seconds, not {NOTICES_GATEWAY_TIMEOUT}")
# Tries per message (the first included), spaced 1, 2, 4… minutes apart (at most an hour); then FAILED.
NOTICES_MAX_ATTEMPTS = env_int("NOTICES_MAX_ATTEMPTS", 5)
if NOTICES_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured(f"NOTICES_MAX_ATTEMPTS must be at least 1, not {NOTICES_MAX_ATTEMPTS}")
# A miner who opted out still gets the receipts of their own money (withholding, payment, new
# cronograma, paid-off certificate) only when the lender's policy says so; never collection messages.
NOTICES_RECEIPTS_AFTER_OPT_OUT = env_bool("NOTICES_RECEIPTS_AFTER_OPT_OUT", default=False)
# The absolute address of this deployment, for links sent to miners (the statement page).
SITE_URL = (env_str("SITE_URL", "http://localhost:8000") or "http://localhost:8000").rstrip("/")
if urlparse(SITE_URL).scheme not in {"http", "https"} or not urlparse(SITE_URL).netloc:
    raise ImproperlyConfigured(f"SITE_URL must be an absolute http(s) URL, not {SITE_URL!r}")
STATEMENT_LINK_DAYS = env_int("STATEMENT_LINK_DAYS", 30)
if STATEMENT_LINK_DAYS < 1:
    raise ImproperlyConfigured(f"STATEMENT_LINK_DAYS must be at least 1, not {STATEMENT_LINK_DAYS}")
# E-mail (used by NOTICES_BACKEND=live for the e-mail channel); bounded so a slow server costs seconds.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "no-reply@localhost") or "no-reply@localhost"
# Castigo (DOMAIN.md §7): how many collection contacts must be on record before a loan is written off.
WRITE_OFF_MIN_CONTACTS = env_int("WRITE_OFF_MIN_CONTACTS", 3)
# Garantía mobiliaria (DOMAIN.md §7): the loan page and the officer's dashboard warn this many days
# before an insurance policy on pledged collateral expires (and from then on, while it stays expired).
COLLATERAL_EXPIRY_WARNING_DAYS = env_int("COLLATERAL_EXPIRY_WARNING_DAYS", 30)
if not 0 <= COLLATERAL_EXPIRY_WARNING_DAYS <= 366:
    raise ImproperlyConfigured(
        f"COLLATERAL_EXPIRY_WARNING_DAYS must be 0 to 366 days, not {COLLATERAL_EXPIRY_WARNING_DAYS}"
    )
# Whether registered collateral whose insurance policy has expired (or that has none) stops earning the
# preferred-guarantee provision rates. Off by default: the registered pledge is what makes the guarantee
# preferred; the expired policy is flagged on the rating (warning ``collateral_policy_expired``).
COLLATERAL_INSURANCE_REQUIRED = env_bool("COLLATERAL_INSURANCE_REQUIRED", default=False)
# Refinanciación (DOMAIN.md §7; SBS Res. 11356-2008): a refinanced debtor's category improves one step only
# after this many months of punctual payment (two quarters), an installment counting as punctual when paid
# in full within this many days of its due date.
REFINANCE_PUNCTUAL_MONTHS = env_int("REFINANCE_PUNCTUAL_MONTHS", 6)
REFINANCE_PUNCTUAL_GRACE_DAYS = env_int("REFINANCE_PUNCTUAL_GRACE_DAYS", 0)
if REFINANCE_PUNCTUAL_MONTHS < 1 or REFINANCE_PUNCTUAL_GRACE_DAYS < 0:
    raise ImproperlyConfigured("REFINANCE_PUNCTUAL_MONTHS must be at least 1 and the grace days not negative")
# The loan sub-ledger (DOMAIN.md §8): micro and small-business loans move to vencido (1405) after this
# many days past due; the nightly close posts the journal in batches of this many loans.
ACCOUNTING_VENCIDO_AFTER_DAYS = env_int("ACCOUNTING_VENCIDO_AFTER_DAYS", 30)
ACCOUNTING_BATCH_SIZE = env_int("ACCOUNTING_BATCH_SIZE", 10000)
