"""One settings module, driven by the environment.

Defaults are the embedded set-up used by `make run` and `make test`: SQLite and the in-memory
channel layer. `DATABASE_URL` and `REDIS_URL` switch to PostgreSQL and channels_redis.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The fallback key only exists so a fresh checkout runs; production must set SECRET_KEY.
# The "django-insecure-" prefix makes `check --deploy` fail loudly if it is ever deployed.
SECRET_KEY = os.environ.get(
    "SECRET_KEY", "django-insecure-dev-key-set-SECRET_KEY-in-production-0123456789abcdefghij"
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_htmx",
    "template_partials",
    "csp",
    "governance",
    "assemblies",
    "rotation",
    "production",
    "programmes",
    "economy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.ratelimit.RateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "governance.middleware.OrganizationTimezoneMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "governance.context_processors.current_organization",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # A connection pool, not persistent connections: under ASGI each request runs in a
    # thread of its own, and CONN_MAX_AGE>0 left one open connection per thread until two
    # processes exhausted PostgreSQL's max_connections within seconds of a vote storm
    # (tests/robustness/test_faults.py). Size the pool per process: N processes x max_size
    # must stay under the server's max_connections.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ.get("DB_POOL_SIZE", "20")),
        "timeout": 10,
    }
else:
    # WAL + synchronous=NORMAL + IMMEDIATE transactions + a busy timeout: measured ~50x
    # faster under 1,300 concurrent writers than the defaults. `config.sqlite` queues the
    # writers of one process in arrival order (config/sqlite/base.py says why), so they wait
    # their turn rather than fail with "database is locked".
    DATABASES = {
        "default": {
            "ENGINE": "config.sqlite",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "CONN_MAX_AGE": 600,
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA busy_timeout=30000;"
                ),
            },
            # A file, not shared-cache memory: the real ASGI server in browser and websocket
            # tests reads it from other threads, and shared-cache memory databases lock whole
            # tables instead of honouring the busy timeout. One file per test process.
            "TEST": {
                "NAME": os.environ.get("SQLITE_TEST_PATH")
                or str(Path(tempfile.gettempdir()) / f"autogestion-test-{os.getpid()}.sqlite3")
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels -------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # One subscription per process per assembly keeps the socket count on
                # Redis small, but the pool must still be far above redis-py's default.
                "hosts": [{"address": REDIS_URL, "max_connections": 1000}],
                "group_expiry": 300,
                "capacity": 5000,
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth and sessions ----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# HTTPS=1 behind TLS (production): redirects, secure cookies, HSTS. Off by default because
# many cooperatives first run the server on the workshop's own network without TLS.
HTTPS = env_bool("HTTPS", False)
if HTTPS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Rate limits (per minute; shared through the cache) ----------------------------------
RATE_LIMIT_LOGIN_PATHS = {"/accounts/login/", "/api/v1/auth/token/"}
RATE_LIMIT_LOGIN_PER_IP = int(os.environ.get("RATE_LIMIT_LOGIN_PER_IP", "30"))
RATE_LIMIT_LOGIN_PER_USER = int(os.environ.get("RATE_LIMIT_LOGIN_PER_USER", "10"))
RATE_LIMIT_WRITES_PER_MINUTE = int(os.environ.get("RATE_LIMIT_WRITES_PER_MINUTE", "300"))
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)

# --- Content-Security-Policy ------------------------------------------------------------
# Scripts only from our own origin (htmx is vendored); inline style attributes stay allowed
# because htmx's swap transitions set them. Websockets are same-origin ('self').
_CSP = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
CONTENT_SECURITY_POLICY = _CSP

# --- Languages and time ---------------------------------------------------------------------
LANGUAGE_CODE = "es"
LANGUAGES = [("es", _("Spanish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production runs `collectstatic` and sets STATIC_MANIFEST=1 (hashed, compressed files);
# development and tests serve straight from the source folders.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", False)
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"
# Minutes PDFs render in separate worker processes; at most this many render at once on a
# machine (each takes a core and a few hundred MB), the rest wait in the queue.
MINUTES_PDF_WORKERS = max(1, int(os.environ.get("MINUTES_PDF_WORKERS", "1")))

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "governance.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Autogestión API",
    "DESCRIPTION": "Governance of worker-self-managed enterprises: organisations, mandates, "
    "assemblies, rotation and production.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files: no CDN on a closed network, and CSP-clean.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several apps have a choice field called kind/status/role/...: name each enum so the
    # schema is stable and `check --deploy` stays clean. (A path that stops importing only
    # brings a warning back; it never breaks schema generation.)
    "ENUM_NAME_OVERRIDES": {
        "OrganizationKindEnum": "governance.models.Organization.Kind",
        "MandateRoleEnum": "governance.models.Mandate.Role",
        "DecisionStatusEnum": "governance.models.Decision.Status",
        "MembershipStatusEnum": "governance.models.Membership.Status",
        "AssemblyStatusEnum": "assemblies.models.Assembly.Status",
        "AgendaItemKindEnum": "assemblies.models.AgendaItem.Kind",
        "SpeakingRequestKindEnum": "assemblies.models.SpeakingRequest.Kind",
        "ConsensusOutcomeEnum": "assemblies.models.ConsensusRound.Outcome",
        "VoteOutcomeEnum": "assemblies.models.Vote.Outcome",
        "VoteCountSourceEnum": "assemblies.models.VoteCount.Source",
        "RotationPostKindEnum": "rotation.models.Post.Kind",
        "RosterStatusEnum": "rotation.models.Roster.Status",
        "DowntimeCategoryEnum": "production.models.DowntimeLine.Category",
        "ScrapCategoryEnum": "production.models.ScrapLine.Category",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Origins a websocket may come from, beyond ALLOWED_HOSTS (comma-separated).
WEBSOCKET_ALLOWED_ORIGINS = env_list("WEBSOCKET_ALLOWED_ORIGINS", "")
