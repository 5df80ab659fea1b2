"""Configuration from the environment (pydantic-settings), read by worker, starter and tests.

Every setting has the embedded default: the Temporal dev server on this machine and a SQLite
file under var/. Production points the same code elsewhere with environment variables.
"""

from enum import StrEnum
from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Port = Annotated[int, Field(ge=1, le=65535)]
PortOrOff = Annotated[int, Field(ge=0, le=65535)]  # 0: the endpoint is not served


class GatewayRole(StrEnum):
    """What an integration may send to the gateway (see gateway/authorisation.py)."""

    REGION_COUNCIL = "region_council"  # co-funding decisions, for its own region only
    PAYMENT_SYSTEM = "payment_system"  # payment executed / rejected
    DOCUMENT_VERIFICATION = "document_verification"  # documents verified
    PORTAL = "portal"  # progress reports, each for the applicant it names


class GatewayClient(BaseModel):
    """One integration's credentials: several keys at once, so a key is rotated with an overlap."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    role: GatewayRole
    region_code: str | None = Field(None, pattern=r"^\d{2}$", description="a Region Council's region")
    api_keys: tuple[SecretStr, ...] = ()
    hmac_secrets: tuple[SecretStr, ...] = ()

    @model_validator(mode="after")
    def _coherent(self) -> "GatewayClient":
        if (self.role == GatewayRole.REGION_COUNCIL) != (self.region_code is not None):
            raise ValueError("region_code: required for a region_council, and only for it")
        if not self.api_keys and not self.hmac_secrets:
            raise ValueError("api_keys: a client needs at least one API key or HMAC secret")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    temporal_address: str = Field("localhost:7233", description="Temporal frontend host:port")
    temporal_namespace: str = Field("default", description="Temporal namespace")
    temporal_tls: bool = Field(False, description="connect with TLS (server CA from the system)")
    temporal_tls_cert: str | None = Field(None, description="client certificate (PEM file) for mTLS")
    temporal_tls_key: str | None = Field(None, description="client private key (PEM file) for mTLS")
    temporal_api_key: str | None = Field(None, description="API key (Temporal Cloud)")
    task_queue: str = Field("moazara-applications", description="task queue of the application workflows")
    edition_task_queue: str | None = Field(
        None,
        description="task queue of the edition workflows, served by `worker.py --editions` "
        "(None: the applications' queue, one worker for both)",
    )
    database_url: str = Field("sqlite:///var/moazara.db", description="domain database (SQLAlchemy URL)")
    migrate_on_start: bool = Field(True, description="worker runs Alembic migrations at start (embedded default)")
    log_format: str = Field("console", description="'console' or 'json'")
    log_level: str = Field("INFO", description="log level")
    max_concurrent_activities: int = Field(32, ge=1, description="activity slots per worker")
    activity_threads: int = Field(32, ge=1, description="threads running the (synchronous) activities")
    max_concurrent_workflow_tasks: int = Field(
        10,
        ge=2,
        description="workflow tasks a worker takes at once (the SDK's default is 100): one event loop runs "
        "them, so more only wait inside the worker, where their time counts against their 10 s timeout",
    )
    sticky_schedule_to_start_seconds: float = Field(
        10,
        gt=0,
        description="how long a workflow's next task waits for the worker that has it cached before "
        "going back to the task queue (the SDK's default 10 s)",
    )
    application_backlog_seconds: float = Field(
        2.0,
        ge=0,
        description="an edition paces its starts of new applications (an import's) so that the oldest "
        "workflow task in the applications' queue waits less than this (0: no pacing); infra/backlog.py",
    )
    render_processes: int = Field(
        1, ge=0, le=32, description="processes laying out PDFs beside the worker (0: in its activity threads)"
    )
    # --- Client security (issue 5): a secured cluster or Temporal Cloud ---
    temporal_tls_ca: str | None = Field(None, description="server CA (PEM file) when it is not in the system's store")
    temporal_tls_server_name: str | None = Field(None, description="TLS server name when it differs from the address")
    accept_unencrypted_payloads: bool = Field(
        False, description="accept payloads sent without the codec (only while workflows started before encryption run)"
    )
    # --- Secrets: payload codec keys, gateway credentials, codec server tokens ---
    # Any of the secret fields below may also be in this JSON file; it is re-read when it changes,
    # so keys rotate without a restart (live_settings.py). Embedded default only: when no codec key
    # is configured anywhere, a random one is generated into this file (mode 0600) on first use.
    secrets_file: str | None = Field("var/secrets.json", description="JSON file of secret settings, re-read on change")
    codec_keys: dict[str, SecretStr] = Field({}, description="payload keys: key id -> base64 of 32 bytes (AES-256-GCM)")
    codec_encrypt_key: str | None = Field(None, description="id of the key new payloads are encrypted with")
    codec_server_tokens: dict[str, SecretStr] = Field({}, description="codec server: staff member -> bearer token")
    codec_server_origins: list[str] = Field(["http://localhost:8233"], description="Web UI origins allowed (CORS)")
    gateway_clients: dict[str, GatewayClient] = Field({}, description="gateway: client id -> role and credentials")
    webhook_secrets: dict[str, SecretStr] = Field({}, description="outbound webhooks: key id -> signing secret")
    web_ui_host: str = Field("127.0.0.1", description="the Web UI's front (gateway/web_ui.py) listen address")
    web_ui_port: Port = Field(8233, description="the Temporal Web UI as staff open it, codec at /codec")
    web_ui_upstream: str = Field("http://127.0.0.1:8234", description="the Temporal Web UI itself, behind that port")
    console_host: str = Field("127.0.0.1", description="console listen address")
    console_port: Port = Field(8090, description="console listen port")
    console_secure_cookies: bool = Field(False, description="console cookies Secure and HSTS (true behind HTTPS)")
    console_session_hours: float = Field(8, gt=0, le=24 * 30, description="console sessions expire after this")
    console_public_url: str | None = Field(None, description="console's URL as browsers see it (OpenID redirect)")
    console_oidc_issuer: str | None = Field(None, description="OpenID provider's issuer URL: staff sign in there")
    console_oidc_client_id: str | None = Field(None, description="the console's client id at the OpenID provider")
    console_oidc_client_secret: SecretStr | None = Field(None, description="the console's client secret there")
    console_oidc_login_claim: str = Field("email", description="ID token claim that names the console login")
    # --- Messages (issue 15): email over SMTP; the embedded default's local sink (outbound/sink.py) ---
    smtp_host: str = Field("127.0.0.1", description="SMTP server messages are sent through")
    smtp_port: Port = Field(8025, description="its port (8025: the embedded default's sink)")
    smtp_starttls: bool = Field(False, description="STARTTLS before sending (production)")
    smtp_username: str | None = Field(None, description="SMTP login, when the server asks for one")
    smtp_password: SecretStr | None = Field(None, description="SMTP password")
    smtp_timeout_seconds: float = Field(10, gt=0, le=300, description="one SMTP conversation at most")
    mail_from: str = Field("Moazara <no-reply@moazara.local>", description="the messages' sender")
    mail_domain: str = Field("moazara.local", description="right side of every Message-ID")
    outbox_interval_seconds: int = Field(15, ge=1, le=3600, description="how often the outbox is sent")
    outbox_max_attempts: int = Field(8, ge=1, le=100, description="transient failures before a message is dead")
    documents_dir: str = Field("var/documents", description="the document store's directory (embedded default)")
    # --- The document store in an S3-compatible bucket (issue 15); credentials: boto3's AWS_* variables ---
    documents_s3_bucket: str | None = Field(None, description="keep documents in this bucket instead of DOCUMENTS_DIR")
    documents_s3_endpoint_url: str | None = Field(None, description="S3 API endpoint (MinIO, Ceph…); unset: AWS")
    documents_s3_region: str = Field("us-east-1", description="the bucket's region")
    documents_s3_prefix: str | None = Field(
        None, max_length=200, description="key prefix of every object in the bucket"
    )
    # --- Histories archived before the server's retention deletes them (issue 15, audit/archive.py) ---
    archive_keys: dict[str, SecretStr] = Field(
        {}, description="archive keys: key id -> base64 of 32 bytes; none: the payload keys"
    )
    archive_encrypt_key: str | None = Field(None, description="id of the archive key new archives are sealed with")
    archive_hour: int = Field(
        3, ge=0, le=23, description="the archiver's daily hour, programme time (Africa/Casablanca)"
    )
    digest_recipients: list[str] = Field([], description="officers' addresses the daily digest of escalations goes to")
    digest_hour: int = Field(7, ge=0, le=23, description="the digest's hour, programme time (Africa/Casablanca)")
    webhook_timeout_seconds: float = Field(10, gt=0, le=120, description="one webhook call at most")
    gateway_host: str = Field("127.0.0.1", description="gateway listen address")
    gateway_port: Port = Field(8081, description="gateway listen port")
    gateway_max_body_bytes: int = Field(1_048_576, ge=1024, description="gateway and codec server: largest body (413)")
    gateway_signature_tolerance_seconds: int = Field(300, ge=1, description="HMAC timestamp: max clock skew")
    gateway_update_timeout_seconds: float = Field(
        30, gt=0, description="gateway: wait this long for a workflow's answer"
    )

    # --- Operations (issue 7): metrics, health, shutdown; see docs/operations.md "Metrics and health" ---
    observability_host: str = Field(
        "127.0.0.1", description="interface the worker's metrics and health endpoints listen on; 0.0.0.0 in containers"
    )
    metrics_port: PortOrOff = Field(
        9464, description="worker's Prometheus metrics (SDK and service counters) at /metrics; 0 turns them off"
    )
    health_port: PortOrOff = Field(
        9465, description="worker's liveness /healthz and readiness /readyz; 0 turns them off"
    )
    # --- The payment system (issue 6): where payment orders are sent; none in the embedded default ---
    payment_system_url: str | None = Field(
        None,
        description="payment system endpoint payment orders are POSTed to; unset: orders are taken at once (embedded default)",
    )
    payment_system_timeout_seconds: float = Field(
        10,
        gt=0,
        le=25,
        description="how long one call to the payment system may take before it counts as unavailable (below the activity's 30 s start-to-close)",
    )
    worker_shutdown_grace_seconds: float = Field(
        20, ge=0, description="on SIGTERM, activities in flight get this long to finish before they are cancelled"
    )

    @field_validator("payment_system_url")
    @classmethod
    def _payment_system_url(cls, v: str | None) -> str | None:
        # Blank is "none" (compose passes an unset variable as an empty string).
        if v is None or not v.strip():
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL (or empty for none)")
        return v.strip()

    @property
    def editions_queue(self) -> str:
        """Where edition workflows start and run: their own queue when one is set."""
        return self.edition_task_queue or self.task_queue


@cache
def get_settings() -> Settings:
    return Settings()
