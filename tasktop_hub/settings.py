"""Django settings for the hub, read from the environment (django-environ).

Every variable is documented in README.md ("Configuration"). Cross-setting rules are
system checks in ``tasktop_hub/checks.py`` (ids ``hub.E0xx``/``hub.W0xx``).
"""

from __future__ import annotations

from pathlib import Path

import environ

from tasktop_hub import database as hub_database
from tasktop_hub import queue as hub_queue
from tasktop_hub.home import ensure_private_dir, load_or_create_secret_key, resolve_home

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

HUB_HOME = ensure_private_dir(resolve_home(env.str("HUB_HOME", default=None)))
HUB_DB_DIR = ensure_private_dir(HUB_HOME / "db")
HUB_LOG_DIR = ensure_private_dir(HUB_HOME / "logs")

SECRET_KEY = env.str("SECRET_KEY", default="") or load_or_create_secret_key(HUB_HOME)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The one switch for a hub served over HTTPS by a reverse proxy (README "Configuration", docs/operator-guide.md).
# On: the proxy's X-Forwarded-Proto (and, for sign-in throttling, the last X-Forwarded-For hop) is
# trusted, plain HTTP is redirected to HTTPS (except the health probe, which load balancers call on
# the inside), cookies are sent over HTTPS only and browsers are told to keep to HTTPS (HSTS).
# The proxy must set X-Forwarded-Proto itself and strip any the client sent.
HUB_BEHIND_HTTPS_PROXY = env.bool("HUB_BEHIND_HTTPS_PROXY", default=False)
SECURE_REDIRECT_EXEMPT = [r"^api/health(/live)?$"]  # the probes (read only when the redirect is on)
if HUB_BEHIND_HTTPS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("HUB_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("HUB_HSTS_INCLUDE_SUBDOMAINS", default=False)
    SECURE_HSTS_PRELOAD = env.bool("HUB_HSTS_PRELOAD", default=False)
    # HSTS for the hub's own host name only, unless asked: the hub does not know whether every
    # sibling host of its domain speaks HTTPS, and preloading is the domain owner's decision.
    SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]

# Sign-in throttling (settings_app/security/throttle.py): after this many failed sign-ins for one
# account, or from one client address, within the lockout time, that account or address is refused
# for the lockout time (seconds); each lockout is audited and shown on the Settings screen.
HUB_SIGNIN_MAX_FAILURES_PER_ACCOUNT = env.int("HUB_SIGNIN_MAX_FAILURES_PER_ACCOUNT", default=5)
HUB_SIGNIN_MAX_FAILURES_PER_ADDRESS = env.int("HUB_SIGNIN_MAX_FAILURES_PER_ADDRESS", default=20)
HUB_SIGNIN_LOCKOUT_SECONDS = env.int("HUB_SIGNIN_LOCKOUT_SECONDS", default=900)
AUTHENTICATION_BACKENDS = ["settings_app.security.throttle.ThrottledModelBackend"]

INSTALLED_APPS = [
    "tasktop_hub.apps.HubAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served by the hub itself: air-gapped hubs have no CDN
    "tasktop_hub.apps.TasktopHubConfig",  # before django_q: its `qcluster` command wraps django-q2's
    "django_q",
    "settings_app",
    "notifications",
    "integrations",
    "extensions",
    "licensing",
    "storage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Refuses writes while the data is being moved; outside the session middleware, so that a
    # session saved after the view is still inside the writer's lock (tasktop_hub/write_guard.py).
    "tasktop_hub.write_guard.WriteGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "tasktop_hub.setup_gate.SetupGateMiddleware",  # after auth and messages
    "settings_app.hublog.levels.RefreshMiddleware",  # the logging level follows the Settings screen
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tasktop_hub.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tasktop_hub.setup_gate.processing_warnings",
            ],
        },
    },
]

WSGI_APPLICATION = "tasktop_hub.wsgi.application"
ASGI_APPLICATION = "tasktop_hub.asgi.application"

# SQLite is the embedded default (tasktop_hub/database.py): IMMEDIATE transactions + WAL + a long
# busy timeout are what keep the worker and the web process from losing writes to "database is
# locked". Without DATABASE_URL the active database is the one recorded in HUB_HOME/db/hub-db.json
# (written by a transfer, storage/), and every process follows that file without a restart.
SQLITE_OPTIONS = hub_database.SQLITE_OPTIONS

if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    HUB_DATABASE_MANAGED_BY_ENV = True
else:
    DATABASES = {"default": hub_database.active_entry(HUB_HOME, HUB_DB_DIR)}
    HUB_DATABASE_MANAGED_BY_ENV = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The database cache is shared by every process; django-q2 keeps cluster stats in it, which
# is how the web process knows that a worker is alive.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "hub_cache",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = ensure_private_dir(HUB_HOME / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "/admin/login/"

# django-q2. retry must exceed every task's timeout or a long task runs twice; failures are
# acknowledged once (max_attempts 1) because retries are the engine's own business.
HUB_TASK_TIMEOUT = env.int("HUB_TASK_TIMEOUT", default=3600)
HUB_INSTALLATION_ID = hub_database.installation_id(HUB_HOME)
# Each installation has its own queue (and worker stats) on a shared database: tasktop_hub/queue.py.
Q_CLUSTER = {
    "name": hub_queue.cluster_name(HUB_INSTALLATION_ID),
    "orm": "default",
    "workers": env.int("HUB_WORKERS", default=2),
    "timeout": HUB_TASK_TIMEOUT,
    "retry": HUB_TASK_TIMEOUT + 300,
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": 200,
    "catch_up": False,
    "poll": 0.5,
    "cache": "default",
    # django-q2's own pages; the hub's background jobs are on Activity (one name per thing).
    "label": "Task queue (django-q2)",
    "ALT_CLUSTERS": {},
}
HUB_WORKER_STALE_SECONDS = env.int("HUB_WORKER_STALE_SECONDS", default=60)
# Storage (storage/, docs/storage.md): a transfer's pause holds while its worker's heartbeat is
# younger than this (a killed transfer stops pausing the hub after it); how long the transfer
# waits at most for work in flight (writing requests, engine runs, background jobs) before its
# snapshot — more than an engine run's 240 s budget; how often a process re-reads the instance lease.
HUB_TRANSFER_HEARTBEAT_SECONDS = env.int("HUB_TRANSFER_HEARTBEAT_SECONDS", default=30)
HUB_TRANSFER_DRAIN_SECONDS = env.float("HUB_TRANSFER_DRAIN_SECONDS", default=300.0)
HUB_INSTANCE_LEASE_CHECK_SECONDS = env.float("HUB_INSTANCE_LEASE_CHECK_SECONDS", default=2.0)
# Sync engine: how long a run's lease lasts without renewal (a killed worker's lease expires
# after this), and how far back each change detection re-reads to catch late timestamps.
HUB_ENGINE_LEASE_SECONDS = env.int("HUB_ENGINE_LEASE_SECONDS", default=60)
HUB_ENGINE_OVERLAP_SECONDS = env.float("HUB_ENGINE_OVERLAP_SECONDS", default=5.0)
# Extension sandbox: long-lived quickjs-ng child processes per hub process (docs/extensions.md).
HUB_EXTENSION_PROCESSES = env.int("HUB_EXTENSION_PROCESSES", default=2)
# Route moves commit this many pairs (or pending rows) per transaction (integrations/moves.py).
HUB_ROUTE_MOVE_BATCH = env.int("HUB_ROUTE_MOVE_BATCH", default=500)

# Security (DESIGN §6, docs/security.md). The scrypt cost is deliberately not read from the
# environment: only the test suite lowers it (tests/conftest.py); check hub.E102 refuses less.
HUB_VAULT_SCRYPT_N = 2**17
# Ed25519 public keys (base64 or PEM, comma separated) of the license issuers this hub trusts.
HUB_LICENSE_TRUSTED_KEYS = env.list("HUB_LICENSE_TRUSTED_KEYS", default=[])

# Where connections may reach (integrations/connectors/reach.py, docs/security.md): SQLite files
# only inside these directories (none listed → no SQLite connections); when set, only these
# hosts (names, *.suffix) and networks (CIDR); never these, on top of link-local and the cloud
# metadata endpoints. The hub's own database is refused whatever these say.
HUB_CONNECTION_SQLITE_DIRS = env.list("HUB_CONNECTION_SQLITE_DIRS", default=[])
HUB_CONNECTION_ALLOWED_HOSTS = env.list("HUB_CONNECTION_ALLOWED_HOSTS", default=[])
HUB_CONNECTION_DENIED_HOSTS = env.list("HUB_CONNECTION_DENIED_HOSTS", default=[])

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tasktop_hub.api.permissions.RolePermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "tasktop_hub.api.pagination.HubPagination",
    # JSON in, as the schema documents: form encodings cannot carry the nested objects (options,
    # mappings) and made schema-valid form requests fail.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "tasktop_hub.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "tasktop_hub API",
    "DESCRIPTION": "Connections, collections, integrations, routes, artifact pairs, settings "
    "and Activity of a tasktop_hub instance.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Every error status the API answers, documented with the hub's error shape.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tasktop_hub.api.schema.add_error_responses",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Logging (README "Logging"): HUB_LOG_LEVEL is the Normal level; Troubleshooting (Settings
# screen, API, `manage.py logging`) turns the hub's own loggers to DEBUG for at most 24 hours
# (settings_app/hublog/levels.py). hub.log is shared by every process of this HUB_HOME: the
# concurrent handler locks around each write and each rotation (size-based, bounded backups).
HUB_LOG_LEVEL = env.str("HUB_LOG_LEVEL", default="INFO").upper()
HUB_LOG_MAX_BYTES = env.int("HUB_LOG_MAX_BYTES", default=10 * 1024 * 1024)
HUB_LOG_BACKUPS = env.int("HUB_LOG_BACKUPS", default=5)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"},
    },
    # On every handler: every record is scrubbed of the connection secrets this process holds,
    # in every encoding (integrations/connectors/http/redaction.py): a tool's error text may echo
    # them; and the extra Troubleshooting records stop the instant it ends.
    "filters": {
        "redact": {"()": "integrations.connectors.http.redaction.RedactingFilter"},
        "expiry": {"()": "settings_app.hublog.levels.TroubleshootingExpiry", "normal_level": HUB_LOG_LEVEL},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact", "expiry"]},
        "file": {
            "class": "concurrent_log_handler.ConcurrentRotatingFileHandler",
            "filename": str(HUB_LOG_DIR / "hub.log"),
            "maxBytes": HUB_LOG_MAX_BYTES,
            "backupCount": HUB_LOG_BACKUPS,
            # Log lines may name hosts, accounts and tool errors: the files (and the handler's lock
            # file) are created private to the hub's account whatever the umask, like everything in
            # HUB_HOME — the 0700 directory alone would not survive a copy of the files elsewhere.
            "umask": 0o077,
            "chmod": 0o600,
            "formatter": "plain",
            "filters": ["redact", "expiry"],
        },
    },
    "root": {"handlers": ["console", "file"], "level": HUB_LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
    },
}
