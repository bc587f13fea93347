"""Settings read from the environment (pydantic-settings), one object for every service.

Every service has its own database URL; the broker and topics are shared.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import AwareDatetime, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("intake", "routing", "handling", "followup", "kpi")
DEFAULT_PORTS = {"intake": 8001, "routing": 8002, "handling": 8003, "followup": 8004, "kpi": 8005}


# The secrets in this repository: fine on a developer's machine, refused anywhere else.
DEFAULT_JWT_SECRET = "dev-secret-change-me-please-32bytes!"
DEFAULT_PSEUDONYM_KEY = "dev-pseudonym-key-change-me-32bytes!"
Environment = Literal["development", "test", "staging", "production"]


class DefaultSecret(ValueError):
    """A service outside development was given a secret from the repository."""


def _default_url(db: str) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # development and test may run on the repository's secrets; staging and production not.
    environment: Environment = "development"

    intake_database_url: str = _default_url("intake")
    routing_database_url: str = _default_url("routing")
    handling_database_url: str = _default_url("handling")
    followup_database_url: str = _default_url("followup")
    kpi_database_url: str = _default_url("kpi")

    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_partitions: int = Field(default=6, ge=1)
    lifecycle_topic: str = "requests.lifecycle"
    notifications_topic: str = "requests.notifications"
    dlq_topic: str = "requests.lifecycle.dlq"

    # Consumers: bounded retries with exponential backoff before dead-lettering.
    consumer_max_attempts: int = Field(default=3, ge=1)
    consumer_backoff_seconds: float = Field(default=0.2, ge=0)
    relay_poll_seconds: float = Field(default=0.5, gt=0)
    # How long a consumer's fetch may wait at the broker for new events. Each idle consumer
    # asks once per wait: at 50 ms six idle consumer groups cost the development broker and
    # the services about a third of a core between them, at 200 ms well under half that,
    # while an event still arrives ~10-25 ms after it is produced (bench/README.md).
    consumer_fetch_max_wait_ms: int = Field(default=200, ge=1, le=5000)
    # Database pool: see shared.db.create_engine.
    database_pre_ping: bool = False
    database_pool_recycle_seconds: int = Field(default=1800, ge=-1)
    # Rows per relay round: smaller rounds let an urgent event in sooner under load.
    relay_batch_size: int = Field(default=100, ge=1, le=5000)

    # Development signs staff tokens with a local secret (HS256); production sets a JWKS URL (RS256).
    jwt_secret: str = DEFAULT_JWT_SECRET
    jwt_jwks_url: str | None = None
    jwt_audience: str = "service-requests"
    jwt_issuer: str = "service-requests-dev"
    # Keys the requester pseudonym (requester_ref, an HMAC): its own key, never the JWT one.
    pseudonym_key: SecretStr = SecretStr(DEFAULT_PSEUDONYM_KEY)

    # Services other than intake check channel API keys by asking intake (cached briefly).
    intake_url: str = "http://127.0.0.1:8001"
    # Where the staff console (served by intake) finds the other services' APIs.
    handling_url: str = "http://127.0.0.1:8003"
    followup_url: str = "http://127.0.0.1:8004"
    kpi_url: str = "http://127.0.0.1:8005"
    # Browser origins allowed to call the APIs (CORS) besides intake's own (the console).
    cors_origins: list[str] = Field(default_factory=list)
    api_key_cache_seconds: float = Field(default=60, ge=0)
    # Intake keeps its own answers briefly too; revoking through a replica clears its copy.
    local_api_key_cache_seconds: float = Field(default=5, ge=0)

    organisation_timezone: str = "Asia/Shanghai"
    # A pinned clock (shared.clock): what time it was at the real instant of the anchor.
    clock_pinned_at: AwareDatetime | None = None
    clock_pinned_anchor: float | None = None
    working_hours: str = "09:00-12:00,13:30-18:00"
    # Intake: how far back an open request counts as one a new request may repeat (重复诉求).
    duplicate_window_days: int = Field(default=30, ge=1, le=365)
    # Handling: how long after acceptance a department may still return a request, the
    # extension limits, and how often the SLA scheduler sweeps.
    return_window_hours: float = Field(default=24, ge=0)
    max_extensions_per_clock: int = Field(default=2, ge=0)
    max_extension_days: int = Field(default=30, ge=0)
    sla_sweep_seconds: float = Field(default=1.0, gt=0)
    # Followup: reopen limit, survey and revisit windows in working days, revisit sampling.
    routing_url: str = "http://127.0.0.1:8002"
    service_token: str | None = None  # production: a token from the identity provider
    max_reopens: int = Field(default=2, ge=0)
    survey_working_days: int = Field(default=3, ge=1)
    revisit_working_days: int = Field(default=3, ge=1)
    # A bad staff rating (差评): the head rectifies within this many working days.
    rectification_working_days: int = Field(default=5, ge=1)
    revisit_sample_rate: float = Field(default=0.2, ge=0, le=1)
    revisit_sample_seed: str = "revisit-2026"
    followup_sweep_seconds: float = Field(default=5.0, gt=0)
    # KPI: score weights (JSON in KPI_WEIGHTS), the pass line (0–100), and after how many
    # periods in a row under it a department is flagged for accountability.
    kpi_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "acceptance_timeliness": 0.2,
            "on_time_resolution": 0.3,
            "feedback_timeliness": 0.1,
            "handling_accuracy": 0.2,
            "satisfaction": 0.2,
        }
    )
    kpi_pass_line: float = Field(default=85.0, ge=0, le=100)
    kpi_flag_after_periods: int = Field(default=3, ge=1)
    # The rebuild's work directory (its bucket files and checkpoint; a resumed rebuild picks up
    # there) and how many events each bucket holds at most on average (what one fold keeps in
    # memory). Empty: a folder under the system's temporary directory.
    kpi_rebuild_dir: str = ""
    kpi_rebuild_bucket_events: int = Field(default=200_000, ge=1_000)
    # Routing: after this many returns (退单) a request goes to the coordinating department.
    max_returns_before_escalation: int = Field(default=2, ge=1)
    # Content-based dispatch: below this confidence (the top department's probability) a
    # request waits in the dispatcher's queue (待派单), unless it is urgent; unset, each
    # model's own threshold (calibrated on the catalogue when it is trained). The model is
    # retrained from the centre's history every `dispatch_retrain_seconds` when there are
    # new labels (0: never on a schedule; `make train-dispatch` still does).
    dispatch_confidence_threshold: float | None = Field(default=None, ge=0, le=1)
    dispatch_urgent_matter_threshold: float = Field(default=0.5, ge=0, le=1)
    dispatch_retrain_seconds: float = Field(default=3600, ge=0)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    max_json_depth: int = Field(default=20, ge=2)
    # Per API key and per staff member, per service process; 0 turns the limit off.
    rate_limit_per_minute: int = Field(default=6000, ge=0)
    # Requests without a credential header (Open311's POST and public reads): per client address.
    rate_limit_per_address_per_minute: int = Field(default=600, ge=0)
    # Intake anonymises the personal data of requests closed longer ago than this.
    personal_data_retention_days: int = Field(default=730, ge=1)
    # Delivery tables (shared/retention.py): published outbox rows are kept this long (what
    # `republish --since` can still replay), inbox rows longer (the duplicate check must outlive
    # any redelivery: a republish from the outbox plus a consumer's lag); pruned in batches.
    outbox_retention_hours: float = Field(default=7 * 24, gt=0)
    inbox_retention_hours: float = Field(default=14 * 24, gt=0)
    retention_sweep_seconds: float = Field(default=600, gt=0)
    retention_batch_size: int = Field(default=5000, ge=1, le=100_000)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _inbox_outlives_outbox(self) -> Settings:
        if self.inbox_retention_hours < self.outbox_retention_hours:
            raise ValueError(
                "INBOX_RETENTION_HOURS must be at least OUTBOX_RETENTION_HOURS: an event republished"
                " from the outbox must still find its inbox row, or it is applied twice"
            )
        return self

    @model_validator(mode="after")
    def _enforce_non_default_secrets(self) -> Settings:
        """Outside development every service refuses to start on a secret from the repository
        (or one too short to be a key), naming the setting to set."""
        if self.environment in ("development", "test"):
            return self
        problems = []
        if self.jwt_jwks_url is None and (self.jwt_secret == DEFAULT_JWT_SECRET or len(self.jwt_secret) < 32):
            problems.append("JWT_SECRET (or set JWT_JWKS_URL)")
        key = self.pseudonym_key.get_secret_value()
        if key in (DEFAULT_PSEUDONYM_KEY, self.jwt_secret) or len(key) < 32:
            problems.append("PSEUDONYM_KEY (32+ characters, not the JWT secret)")
        if problems:
            raise DefaultSecret(
                f"ENVIRONMENT={self.environment} needs its own secrets: set {', '.join(problems)}"
            )
        return self

    def database_url(self, service: str) -> str:
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        return str(getattr(self, f"{service}_database_url"))


@lru_cache
def get_settings() -> Settings:
    return Settings()
