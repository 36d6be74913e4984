"""Configuration, read once from the environment (and ``.env``) and validated at start-up."""

from __future__ import annotations

import hashlib
import math
import textwrap
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(Exception):
    """A setting is wrong; the message names the variable."""


# -- the server's secret -------------------------------------------------------------------

SECRET_HINT = 'make one with: python -c "import secrets; print(secrets.token_hex(32))"'
MIN_SECRET_LENGTH = 32
# MicrosoftAppType as botbuilder's ConfigurationServiceClientCredentialFactory reads it; single tenant first:
# Azure creates no new multi-tenant bots since 31 July 2025.
TEAMS_APP_TYPES = ("SingleTenant", "UserAssignedMSI", "MultiTenant")
MIN_SECRET_VARIETY = 8  # distinct characters; 32 random hex digits have about 15
# Bits the characters' own frequencies leave room for (Shannon entropy of the characters
# times the length): ``token_hex(16)`` gives about 110 (never below 90 in 300,000 tries),
# ``token_hex(32)`` about 240, "0" * 28 + "13579bdf" + "0" * 28 gives 59.
MIN_SECRET_BITS = 72
# Examples that were ever printed in this project's README, docs or tests: whoever copied
# one shares it with everyone who read it. Refused anywhere in a secret, without case.
PUBLISHED_SECRETS = frozenset(
    {
        "a-long-random-string",
        "test-secret-key-test-secret-key",
        "k" * 32,
        "change-me",
        "changeme",
        "replace-me",
        "secret",
        "your-secret-key",
        "my-secret-key",
    }
)
# Words a person hashes to make something that looks random: their sha256, sha1 and md5 in
# hex are in every list of known hashes.
HASHED_WORDS = (
    "",
    "secret",
    "password",
    "passw0rd",
    "ritme",
    "changeme",
    "change-me",
    "admin",
    "test",
    "test123",
    "letmein",
    "qwerty",
    "welcome",
    "123456",
    "12345678",
    "123456789",
    "default",
    "key",
    "secret-key",
    "secretkey",
    "token",
    "a-long-random-string",
    "geheim",
    "wachtwoord",
    "school",
    "slack",
    "teams",
)
KNOWN_HASHES = frozenset(
    getattr(hashlib, algorithm)(spelling.encode()).hexdigest()
    for word in HASHED_WORDS
    for spelling in {word, word.capitalize(), word.upper(), word + "\n"}
    for algorithm in ("sha256", "sha1", "md5")
)


def secret_bits(value: str) -> float:
    """An estimate of a secret's entropy in bits from its characters' frequencies alone:
    low when one character fills most of it, whatever the rest."""
    counts = Counter(value)
    return -sum(n * math.log2(n / len(value)) for n in counts.values())


def weak_secret(value: str) -> str | None:
    """Why ``value`` cannot be the server's secret, or None when it will do.

    The secret signs review and export links and seals stored Slack tokens, so a guessable
    one opens every team's answers. The rule, meant to catch what a person types: no example
    published with Ritme in it; not the hex hash of a common word; at least 32 characters;
    at least 8 different characters; not one piece repeated (``abcabc...``); not mostly a
    run of neighbouring characters (``abcdef...``, ``123456...``); at least
    ``MIN_SECRET_BITS`` by the characters' frequencies (``secret_bits``). What
    ``secrets.token_hex(16)``, ``token_hex(32)`` and ``token_urlsafe(32)`` make passes with
    room to spare. The reason never quotes the value.
    """
    lowered = value.strip().lower()
    if any(example in lowered for example in PUBLISHED_SECRETS):
        return "it holds an example published with Ritme, so others know it too"
    if lowered in KNOWN_HASHES:
        return "not random: it is the hash of a common word, found in every list of known hashes"
    if len(value) < MIN_SECRET_LENGTH:
        return f"too short ({len(value)} characters; at least {MIN_SECRET_LENGTH} random ones are needed)"
    if len(set(value)) < MIN_SECRET_VARIETY:
        return f"not random: only {len(set(value))} different characters (at least {MIN_SECRET_VARIETY} are needed)"
    if value in (value + value)[1:-1]:  # the string is a shorter piece repeated
        return "not random: it repeats one piece over and over"
    steps = sum(1 for a, b in zip(value, value[1:], strict=False) if abs(ord(a) - ord(b)) == 1)
    if steps * 2 > len(value) - 1:
        return "not random: it is mostly a run of neighbouring characters (like abcd or 1234)"
    if secret_bits(value) < MIN_SECRET_BITS:
        return "not random: a few characters fill most of it"
    return None


def _alias(name: str, *, secret: bool = False) -> Any:
    return Field(
        default=None, validation_alias=AliasChoices(name), json_schema_extra={"secret": True} if secret else None
    )


def _secret(name: str) -> Any:
    """An optional setting that is a credential: ``ritme check`` and ``--help`` say whether it
    is set, never what it is."""
    return _alias(name, secret=True)


class Settings(BaseSettings):
    """What ``ritme serve`` reads. Each field's docstring is its description in ``ritme serve
    --help`` (``settings_help``), so the help cannot drift from what is read."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=True, populate_by_name=False, use_attribute_docstrings=True
    )

    database_url: str = Field(default="sqlite+aiosqlite:///ritme.db", validation_alias="RITME_DATABASE_URL")
    """SQLAlchemy async URL of the database (PostgreSQL for more than one replica)."""
    host: str = Field(default="127.0.0.1", validation_alias="RITME_HOST")
    """Address to listen on."""
    port: int = Field(default=3978, validation_alias="RITME_PORT", ge=1, le=65535)
    """Port to listen on."""
    public_url: str | None = _alias("RITME_PUBLIC_URL")
    """Base of the links Ritme writes into messages (default http://HOST:PORT)."""
    secret_key: str | None = _secret("RITME_SECRET_KEY")
    """Signs review links and seals anonymous answers; at least 32 random characters; required with a
    platform (the playground keeps a generated one beside the database)."""
    default_timezone: str = Field(default="Europe/Amsterdam", validation_alias="RITME_DEFAULT_TIMEZONE")
    """IANA timezone of new teams."""
    default_language: str = Field(default="nl", validation_alias="RITME_DEFAULT_LANGUAGE")
    """Language of new teams: nl or en."""
    playground: bool | None = _alias("RITME_PLAYGROUND")
    """Serve the playground (default: on when no platform is configured)."""
    # The playground runs admin commands for whoever reaches it: it listens on loopback and answers loopback
    # names only, unless this is set (then also RITME_HOST and RITME_PUBLIC_URL's host; adapters.playground.doors).
    playground_allow_remote: bool = Field(default=False, validation_alias="RITME_PLAYGROUND_ALLOW_REMOTE")
    """Let the playground listen beyond this machine (it runs admin commands for anyone who reaches it)."""
    tick_seconds: float = Field(default=5.0, validation_alias="RITME_TICK_SECONDS", gt=0)
    """Seconds between two runs of the scheduler."""
    replica: str | None = _alias("RITME_REPLICA_ID")
    """This replica's name in claims and logs (default HOSTNAME:PID)."""
    metrics: bool = Field(default=False, validation_alias="RITME_METRICS")
    """Serve GET /metrics in the Prometheus text format."""
    log_format: Literal["text", "json"] = Field(default="text", validation_alias="RITME_LOG_FORMAT")
    """text, or json: one object a line, without answer text or names."""
    drain_seconds: float = Field(default=5.0, validation_alias="RITME_DRAIN_SECONDS", ge=0, le=300)
    """After SIGTERM: seconds of answering with /readyz 503 before stopping, for a load balancer to notice."""

    slack_bot_token: str | None = _secret("SLACK_BOT_TOKEN")
    """Bot token of a single-workspace Slack app (xoxb-...)."""
    slack_signing_secret: str | None = _secret("SLACK_SIGNING_SECRET")
    """Signing secret of the Slack app; verifies requests over HTTP."""
    slack_app_token: str | None = _secret("SLACK_APP_TOKEN")
    """App-level token (xapp-...): Slack over Socket Mode."""
    slack_client_id: str | None = _alias("SLACK_CLIENT_ID")
    """Client id of a Slack app installed through OAuth (any number of workspaces)."""
    slack_client_secret: str | None = _secret("SLACK_CLIENT_SECRET")
    """Client secret of that Slack app."""
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    """Slack Web API base URL (GovSlack, tests)."""

    microsoft_app_id: str | None = _alias("MicrosoftAppId")
    """Bot Framework app id (Microsoft Teams)."""
    microsoft_app_password: str | None = _secret("MicrosoftAppPassword")
    """Bot Framework app password (client secret)."""
    microsoft_app_type: str | None = _alias("MicrosoftAppType")
    """SingleTenant, UserAssignedMSI or MultiTenant (default SingleTenant when MicrosoftAppTenantId is set,
    else MultiTenant)."""
    microsoft_app_tenant_id: str | None = _alias("MicrosoftAppTenantId")
    """Tenant of a SingleTenant or UserAssignedMSI bot."""
    to_bot_from_channel_openid_metadata_url: str | None = _alias("TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL")
    """Bot Framework SDK setting (sovereign clouds, tests); default the public cloud."""
    to_bot_from_channel_token_issuer: str | None = _alias("TO_BOT_FROM_CHANNEL_TOKEN_ISSUER")
    """Bot Framework SDK setting; default the public cloud."""
    to_channel_from_bot_login_url: str | None = _alias("TO_CHANNEL_FROM_BOT_LOGIN_URL")
    """Bot Framework token endpoint; default the public cloud's."""
    to_channel_from_bot_oauth_scope: str | None = _alias("TO_CHANNEL_FROM_BOT_OAUTH_SCOPE")
    """Bot Framework SDK setting; default the public cloud."""
    oauth_url: str | None = _alias("OAUTH_URL")
    """Bot Framework SDK setting; default the public cloud."""
    lease_seconds: float = Field(default=60.0, validation_alias="RITME_LEASE_SECONDS", gt=0)  # outbox claim lease
    """Seconds a replica holds the outbox messages it claimed before another may send them."""

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        from storage.db import async_url

        return async_url(value)

    @field_validator("secret_key")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value:  # unset or empty: required with a platform (below), generated for the playground
            reason = weak_secret(value)
            if reason:
                raise ValueError(f"{reason}; {SECRET_HINT}")
        return value

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in ("nl", "en"):
            raise ValueError("must be nl or en")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (an IANA name such as Europe/Amsterdam)") from None
        return value

    @model_validator(mode="after")
    def _platforms(self) -> Settings:
        # Slack: a bot token (one workspace) or OAuth (any number of workspaces), never both:
        # with OAuth every workspace has its own token, and a second, global one would make
        # it ambiguous which token speaks where. Over HTTP requests are verified with the
        # signing secret; over Socket Mode (SLACK_APP_TOKEN) they are not signed.
        if self.slack_client_id and self.slack_bot_token:
            raise ValueError(
                "SLACK_BOT_TOKEN: leave it unset when SLACK_CLIENT_ID is set; "
                "with OAuth each workspace gets its own token when it installs Ritme"
            )
        if bool(self.slack_client_id) != bool(self.slack_client_secret):
            raise ValueError("SLACK_CLIENT_SECRET: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together")
        if self.slack_app_token:
            if not self.slack_app_token.startswith("xapp-"):
                raise ValueError(
                    "SLACK_APP_TOKEN: an app-level token starts with xapp- (Basic Information, App-Level Tokens)"
                )
            if not (self.slack_bot_token or self.slack_client_id):
                raise ValueError("SLACK_APP_TOKEN: Socket Mode also needs SLACK_BOT_TOKEN (or SLACK_CLIENT_ID)")
        elif self.slack_bot_token and not self.slack_signing_secret:
            raise ValueError("SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN is set")
        elif self.slack_client_id and not self.slack_signing_secret:
            raise ValueError("SLACK_SIGNING_SECRET: required for the Slack OAuth install")
        if self.microsoft_app_id:
            self._teams_credentials()
        if self.any_platform and not self.secret_key:
            raise ValueError(f"RITME_SECRET_KEY: required when a platform is configured; {SECRET_HINT}")
        return self

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token or self.slack_client_id)

    def _teams_credentials(self) -> None:
        """The Bot Framework credentials the SDK's ``ConfigurationServiceClientCredentialFactory``
        accepts: a single-tenant bot (what Azure creates since 31 July 2025) with its tenant; a
        user-assigned managed identity with its tenant and no password; a multi-tenant bot, as
        registered before, with a password."""
        kind = self.teams_app_type
        if kind not in TEAMS_APP_TYPES:
            raise ValueError(f"MicrosoftAppType: {self.microsoft_app_type!r} is none of {', '.join(TEAMS_APP_TYPES)}")
        if kind != "MultiTenant" and not self.microsoft_app_tenant_id:
            raise ValueError(
                f"MicrosoftAppTenantId: required with MicrosoftAppType={kind} "
                "(the Azure Bot's tenant: Configuration → App Tenant ID)"
            )
        if kind != "UserAssignedMSI" and not self.microsoft_app_password:
            raise ValueError(f"MicrosoftAppPassword: required with MicrosoftAppType={kind} (the client secret)")

    @property
    def teams_app_type(self) -> str:
        """``MicrosoftAppType`` as the SDK reads it (any case). Unset: SingleTenant when a tenant
        is given, else MultiTenant, the SDK's own default (bots registered before single tenant
        was the only choice keep working unchanged)."""
        given = (self.microsoft_app_type or "").strip()
        if not given:
            return "SingleTenant" if self.microsoft_app_tenant_id else "MultiTenant"
        return next((kind for kind in TEAMS_APP_TYPES if kind.lower() == given.lower()), given)

    @property
    def teams_enabled(self) -> bool:
        return bool(self.microsoft_app_id)

    @property
    def any_platform(self) -> bool:
        return self.slack_enabled or self.teams_enabled

    @property
    def playground_enabled(self) -> bool:
        return self.playground if self.playground is not None else not self.any_platform

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


class ManifestSettings(BaseSettings):
    """What the Teams app package holds, read on their own (environment and ``.env`` alike):
    writing a manifest asks for nothing it does not contain, such as the app's password or
    Ritme's secret."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True, populate_by_name=False)

    microsoft_app_id: str | None = _alias("MicrosoftAppId")
    public_url: str | None = _alias("RITME_PUBLIC_URL")


def _variable(alias: object) -> str:
    """The environment variable a field is read from (its alias, or its first alias)."""
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return str(alias)


_NAMES = {name: _variable(f.validation_alias) for name, f in Settings.model_fields.items()}


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; a ConfigError names the first wrong variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = error.get("loc") or ()
        field = str(loc[0]) if loc else ""
        variable = _NAMES.get(field, field)
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if not variable or message.split(":")[0] in _NAMES.values():
            raise ConfigError(message) from None
        raise ConfigError(f"{variable}: {message}") from None


@dataclass(frozen=True, kw_only=True, slots=True)
class SettingInfo:
    """One setting as the help and ``ritme check`` name it."""

    field: str
    variable: str
    default: str  # as written in the environment; "" when unset by default
    description: str
    secret: bool


def setting_infos() -> list[SettingInfo]:
    """Every setting of ``Settings``, in the model's order, with its variable and default."""
    infos = []
    for name, field in Settings.model_fields.items():
        default = field.get_default()
        if isinstance(default, bool):
            shown = "true" if default else "false"
        else:
            shown = "" if default is None else format(default, "g") if isinstance(default, float) else str(default)
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        infos.append(
            SettingInfo(
                field=name,
                variable=_NAMES[name],
                default=shown,
                description=" ".join((field.description or "").split()),
                secret=bool(extra.get("secret")),
            )
        )
    return infos


def settings_help() -> str:
    """The settings ``ritme serve`` reads, for its ``--help``: generated from ``Settings``."""
    infos = setting_infos()
    lines = ["settings (environment variables; a .env file in the working directory is read too):"]
    for info in infos:
        default = f" (default: {info.default})" if info.default else ""
        lines.append(f"  {info.variable}{default}")
        lines.append(textwrap.fill(info.description, 96, initial_indent="      ", subsequent_indent="      "))
    return "\n".join(lines)
