"""Bot Framework credentials as Azure registers bots today, and as it did before.

Azure creates no new multi-tenant Azure Bots since 31 July 2025: a new bot is single tenant
(``MicrosoftAppType=SingleTenant`` with ``MicrosoftAppTenantId``), or a user-assigned managed
identity (``UserAssignedMSI``, no password). botbuilder-python's
``ConfigurationServiceClientCredentialFactory`` (read by ``ConfigurationBotFrameworkAuthentication``)
takes all three; a multi-tenant bot registered before keeps working as it was configured.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from botbuilder.integration.aiohttp import ConfigurationServiceClientCredentialFactory
from botframework.connector.auth import ManagedIdentityAppCredentials, MicrosoftAppCredentials

from bot.cli import main
from bot.config import ConfigError, load_settings
from bot.teams_support import sdk_config
from tests.adapters.teams.conftest import running
from tests.fakes.botframework import FakeBotFramework
from tests.fakes.secret_key import SECRET_KEY

APP_ID = "00000000-0000-0000-0000-00000000b07d"
BASE = {"RITME_SECRET_KEY": SECRET_KEY, "MicrosoftAppId": APP_ID}
TEAMS_ENV = ("MicrosoftAppId", "MicrosoftAppPassword", "MicrosoftAppType", "MicrosoftAppTenantId")
PUBLIC_LOGIN = "https://login.microsoftonline.com/botframework.com"  # the SDK's public cloud
SCOPE = "https://api.botframework.com"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in TEAMS_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("given", "variable"),
    [
        ({"MicrosoftAppType": "SingleTenant", "MicrosoftAppPassword": "s"}, "MicrosoftAppTenantId"),
        ({"MicrosoftAppType": "UserAssignedMSI"}, "MicrosoftAppTenantId"),
        ({"MicrosoftAppTenantId": "t"}, "MicrosoftAppPassword"),  # single tenant, by the tenant given
        ({"MicrosoftAppType": "MultiTenant"}, "MicrosoftAppPassword"),
        ({"MicrosoftAppType": "Multi", "MicrosoftAppPassword": "s"}, "MicrosoftAppType"),
    ],
)
def test_wrong_combinations_name_the_variable(given: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(**BASE, **given)
    assert str(err.value).startswith(variable + ":")


def test_serve_refuses_a_single_tenant_bot_without_its_tenant(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {**BASE, "MicrosoftAppPassword": "s", "MicrosoftAppType": "SingleTenant"}.items():
        monkeypatch.setenv(name, value)
    assert main(["serve"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "MicrosoftAppTenantId" in lines[0]


async def test_a_single_tenant_bot_gets_its_token_from_its_own_tenant() -> None:
    """Given a tenant and no type, the bot is single tenant; the SDK then asks the tenant's
    authority for its token, not Bot Framework's shared one."""
    settings = load_settings(**BASE, MicrosoftAppPassword="s", MicrosoftAppTenantId="school-tenant")
    assert settings.teams_app_type == "SingleTenant"
    factory = ConfigurationServiceClientCredentialFactory(sdk_config(settings))
    credentials = await factory.create_credentials(APP_ID, SCOPE, PUBLIC_LOGIN, True)
    assert isinstance(credentials, MicrosoftAppCredentials)
    assert credentials.oauth_endpoint.endswith("/school-tenant")


async def test_a_user_assigned_managed_identity_needs_no_password() -> None:
    """``UserAssignedMSI``: the identity's client id as MicrosoftAppId, its tenant, no secret;
    the SDK takes the token from the managed identity (checked here without Azure: the
    credentials the SDK makes for it)."""
    settings = load_settings(**BASE, MicrosoftAppType="userassignedmsi", MicrosoftAppTenantId="school-tenant")
    assert settings.teams_app_type == "UserAssignedMSI" and settings.microsoft_app_password is None
    factory = ConfigurationServiceClientCredentialFactory(sdk_config(settings))
    credentials = await factory.create_credentials(APP_ID, SCOPE, PUBLIC_LOGIN, True)
    assert isinstance(credentials, ManagedIdentityAppCredentials)


@pytest.mark.parametrize("app_type", ["MultiTenant", None])
async def test_a_multi_tenant_bot_registered_before_keeps_working(
    fake: FakeBotFramework, teams_db_url: str, app_type: str | None
) -> None:
    """A multi-tenant bot, configured as it was (``MultiTenant``, or no type and no tenant):
    installed end to end through the SDK, its welcome sent with a token from Bot Framework's
    token endpoint (here the fake's)."""
    env = {"MicrosoftAppType": app_type, "MicrosoftAppTenantId": None}
    async with running(fake, teams_db_url, **env) as teams:
        assert await teams.install() == 201
    assert len(fake.sent) == 1 and fake.sent[0].token in fake.tokens_issued
    assert load_settings(**BASE, MicrosoftAppPassword="s").teams_app_type == "MultiTenant"
