"""A fake Microsoft side for the Teams adapter: identity provider, token endpoint, connector.

What the real Bot Framework does, on 127.0.0.1 and random ports:

* ``GET /<instance>/.well-known/openid-configuration`` and ``GET /keys``: the channel's OpenID metadata
  and a JWKS with a test RSA key, so that the SDK validates incoming tokens for real;
  ``sign()`` makes those tokens (RS256, the claims the channel sends).
* ``/adfs/...`` over HTTPS: the login endpoint the bot gets its own outgoing token from
  (msal insists on https; the ``adfs`` tenant spares it Microsoft's instance discovery).
* ``/v3/conversations/...``: the connector. It records what the bot sends, checks the bot's
  bearer token, and can be told to answer 429 (with ``Retry-After``) or 403.
* The team's roster (``roster``): ``GET .../pagedmembers`` serves it in pages of at most
  ``page_size`` with a continuation token, ``GET .../members/{id}`` finds one member by
  account id, Entra object id or UPN (404 when absent); reads are recorded in ``reads``.
  With a roster set, a 1:1 chat opens only with a roster account id (29:...), as Teams
  wants; the same member always gets the same chat id.

The SDK fetches metadata and tokens with blocking ``requests`` calls from inside the event
loop, so the fake runs on its own thread and loop; records are read from the test's loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import itertools
import json
import ssl
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.test"
OAUTH_SCOPE = "https://api.botframework.test"
CHANNEL = "msteams"


@dataclass
class Sent:
    """One call the bot made to the connector."""

    method: str
    path: str
    conversation_id: str
    activity_id: str | None
    body: dict[str, Any]
    token: str
    response_id: str = ""  # the id the connector gave the new (or updated) activity


@dataclass
class FakeBotFramework:
    """Start with ``start()`` (or as a context manager); stop with ``stop()``."""

    app_id: str = "00000000-0000-0000-0000-00000000b07d"
    tenant_id: str = "tenant-1"  # the bot's own tenant: a single-tenant bot, as Azure registers them now
    key_id: str = "test-key"
    sent: list[Sent] = field(default_factory=list)
    failures: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    tokens_issued: list[str] = field(default_factory=list)
    roster: list[dict[str, Any]] = field(default_factory=list)  # TeamsChannelAccount JSON
    page_size: int = 500  # the most the connector serves in one page, whatever is asked
    reads: list[Sent] = field(default_factory=list)
    roster_status: int = 200  # what ``pagedmembers`` answers with; not 200: refused

    def __post_init__(self) -> None:
        self._chats: dict[str, str] = {}
        # The SDK keeps a channel's OpenID metadata and keys for a day, process-wide, by the metadata
        # URL; a later fake on a port an earlier one had would be checked against that one's key.
        # A path of this fake's own keeps each fake's keys apart.
        self.instance = uuid.uuid4().hex
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-botframework-")
        self.http_port = 0
        self.https_port = 0

    # -- addresses the bot is configured with -----------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def service_url(self) -> str:
        """The connector, as incoming activities name it in ``serviceUrl``."""
        return f"{self.base}/"

    @property
    def openid_metadata_url(self) -> str:
        return f"{self.base}/{self.instance}/.well-known/openid-configuration"

    @property
    def login_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}/adfs"

    @property
    def ca_file(self) -> str:
        """The self-signed certificate of the login endpoint, for REQUESTS_CA_BUNDLE."""
        return str(Path(self._tmp.name) / "cert.pem")

    def env(self) -> dict[str, str]:
        """The Bot Framework settings under the contract's variable names: a single-tenant bot
        (the token endpoint here is a private cloud's, which the SDK asks whatever the tenant)."""
        return {
            "MicrosoftAppId": self.app_id,
            "MicrosoftAppPassword": "test-password",
            "MicrosoftAppType": "SingleTenant",
            "MicrosoftAppTenantId": self.tenant_id,
            "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": self.openid_metadata_url,
            "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": ISSUER,
            "TO_CHANNEL_FROM_BOT_LOGIN_URL": self.login_url,
            "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": OAUTH_SCOPE,
        }

    # -- incoming tokens ---------------------------------------------------------------

    def sign(
        self,
        *,
        service_url: str | None = None,
        audience: str | None = None,
        issuer: str = ISSUER,
        expires_in: float = 3600,
        key: rsa.RSAPrivateKey | None = None,
        key_id: str | None = None,
    ) -> str:
        """A channel token as Bot Framework sends it to the bot: ``Bearer <jwt>``."""
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience or self.app_id,
            "serviceurl": service_url or self.service_url,
            "nbf": now - 60,
            "iat": now - 60,
            "exp": now + int(expires_in),
        }
        token = jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": key_id or self.key_id})
        return f"Bearer {token}"

    # -- the connector's records --------------------------------------------------------

    def fail_next(self, status: int, *, retry_after: str | None = None) -> None:
        """The connector answers the next send with this status."""
        headers = {"Retry-After": retry_after} if retry_after else {}
        self.failures.append((status, headers))

    def activities(self, conversation_id: str | None = None) -> list[Sent]:
        return [s for s in list(self.sent) if conversation_id is None or s.conversation_id == conversation_id]

    # -- the servers ---------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(f"/{self.instance}/.well-known/openid-configuration", self._openid)
        app.router.add_get("/keys", self._keys)
        app.router.add_get("/adfs/.well-known/openid-configuration", self._login_openid)
        app.router.add_post("/adfs/oauth2/token", self._token)
        app.router.add_post("/v3/conversations", self._create_conversation)
        app.router.add_get("/v3/conversations/{conversation}/pagedmembers", self._paged_members)
        app.router.add_get("/v3/conversations/{conversation}/members/{member}", self._member)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._send)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._send)
        return app

    async def _openid(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": ISSUER,
                "authorization_endpoint": f"{self.base}/authorize",
                "jwks_uri": f"{self.base}/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.key_id, "use": "sig", "alg": "RS256", "endorsements": [CHANNEL]})
        return web.json_response({"keys": [jwk]})

    async def _login_openid(self, request: web.Request) -> web.Response:
        base = f"https://127.0.0.1:{self.https_port}/adfs"
        return web.json_response(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/oauth2/authorize",
                "token_endpoint": f"{base}/oauth2/token",
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("client_id") != self.app_id or form.get("client_secret") != "test-password":
            return web.json_response({"error": "invalid_client", "error_description": "bad secret"}, status=401)
        token = f"bot-token-{uuid.uuid4().hex}"
        self.tokens_issued.append(token)
        return web.json_response({"token_type": "Bearer", "expires_in": 3600, "access_token": token})

    def _authorised(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        return token if token in self.tokens_issued else None

    async def _create_conversation(self, request: web.Request) -> web.Response:
        token = self._authorised(request)
        if token is None:
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        body = await request.json()
        member = str(((body.get("members") or [{}])[0] or {}).get("id", ""))
        if self.roster and member not in {m["id"] for m in self.roster}:
            return web.json_response({"error": {"code": "BadArgument", "message": "unknown member"}}, status=400)
        conversation = self._chats.setdefault(member, f"a:1on1-{next(self._ids)}")
        self.sent.append(
            Sent(
                method="POST", path=request.path, conversation_id=conversation, activity_id=None, body=body, token=token
            )
        )
        return web.json_response({"id": conversation, "activityId": f"act-{next(self._ids)}"})

    def _read(self, request: web.Request, token: str) -> None:
        self.reads.append(
            Sent(
                method="GET",
                path=request.path,
                conversation_id=request.match_info["conversation"],
                activity_id=None,
                body=dict(request.query),
                token=token,
            )
        )

    async def _paged_members(self, request: web.Request) -> web.Response:
        token = self._authorised(request)
        if token is None:
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        self._read(request, token)
        if self.roster_status != 200:
            return web.json_response({"error": {"code": "Forbidden"}}, status=self.roster_status)
        start = int(request.query.get("continuationToken", "0").removeprefix("page-") or 0)
        size = min(self.page_size, int(request.query.get("pageSize", self.page_size)))
        page = self.roster[start : start + size]
        body: dict[str, Any] = {"members": page}
        if start + size < len(self.roster):
            body["continuationToken"] = f"page-{start + size}"
        return web.json_response(body)

    async def _member(self, request: web.Request) -> web.Response:
        token = self._authorised(request)
        if token is None:
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        self._read(request, token)
        wanted = request.match_info["member"].lower()
        for member in self.roster:
            if wanted in {str(member.get(k, "")).lower() for k in ("id", "aadObjectId", "userPrincipalName")}:
                return web.json_response(member)
        return web.json_response({"error": {"code": "MemberNotFoundInConversation"}}, status=404)

    async def _send(self, request: web.Request) -> web.Response:
        token = self._authorised(request)
        if token is None:
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        if self.failures:
            status, headers = self.failures.popleft()
            return web.json_response(
                {"error": {"code": "Failed", "message": str(status)}}, status=status, headers=headers
            )
        body = await request.json()
        target = request.match_info.get("activity")
        new_id = target if request.method == "PUT" else f"act-{next(self._ids)}"
        self.sent.append(
            Sent(
                method=request.method,
                path=request.path,
                conversation_id=request.match_info["conversation"],
                activity_id=target,
                body=body,
                token=token,
                response_id=new_id,
            )
        )
        return web.json_response({"id": new_id})

    def _tls(self) -> ssl.SSLContext:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        cert_path, key_path = Path(self.ca_file), Path(self._tmp.name) / "key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_path, key_path)
        return context

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        plain = web.TCPSite(self._runner, "127.0.0.1", 0)
        secure = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._tls())
        await plain.start()
        await secure.start()
        self.http_port = plain._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.https_port = secure._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def start(self) -> FakeBotFramework:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-botframework", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("the fake Bot Framework did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._tmp.cleanup()
        self._loop = self._thread = None

    def __enter__(self) -> FakeBotFramework:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class FakeBotFrameworkWithFiles(FakeBotFramework):
    """The same fake, also serving the files a message to the bot carries.

    ``personal_file`` keeps a file as Teams does for a personal chat: its attachment
    (``application/vnd.microsoft.teams.file.download.info``) has a pre-authenticated
    ``downloadUrl`` (``{base}/sharepoint/ID/NAME``), fetched without a token.
    ``channel_file`` keeps one as a channel attachment with a ``contentUrl`` on the connector
    (``{base}/v3/attachments/ID/views/original``) that wants the bot's token. Every fetch is
    a ``Sent`` in ``downloads`` (``token`` is the bearer token sent, if any).
    """

    files: dict[str, bytes] = field(default_factory=dict)
    downloads: list[Sent] = field(default_factory=list)

    def personal_file(self, name: str, content: bytes) -> dict[str, Any]:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = content
        return {
            "contentType": "application/vnd.microsoft.teams.file.download.info",
            "contentUrl": f"https://school-my.sharepoint.example/personal/anna/Documents/{name}",
            "name": name,
            "content": {
                "downloadUrl": f"{self.base}/sharepoint/{file_id}/{name}",
                "uniqueId": file_id,
                "fileType": name.rpartition(".")[2],
            },
        }

    def channel_file(self, name: str, content: bytes, content_type: str = "text/calendar") -> dict[str, Any]:
        file_id = f"att-{len(self.files) + 1}"
        self.files[file_id] = content
        return {
            "contentType": content_type,
            "contentUrl": f"{self.base}/v3/attachments/{file_id}/views/original",
            "name": name,
        }

    def _app(self) -> web.Application:
        app = super()._app()
        app.router.add_get("/sharepoint/{file}/{name}", self._sharepoint)
        app.router.add_get("/v3/attachments/{file}/views/original", self._attachment)
        return app

    def _fetched(self, request: web.Request) -> None:
        self.downloads.append(
            Sent(
                method="GET",
                path=request.path,
                conversation_id="",
                activity_id=None,
                body={},
                token=request.headers.get("Authorization", "").removeprefix("Bearer "),
            )
        )

    async def _sharepoint(self, request: web.Request) -> web.Response:
        self._fetched(request)
        content = self.files.get(request.match_info["file"])
        if content is None:
            return web.Response(status=404)
        return web.Response(body=content, content_type="application/octet-stream")

    async def _attachment(self, request: web.Request) -> web.Response:
        self._fetched(request)
        if self._authorised(request) is None:
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        content = self.files.get(request.match_info["file"])
        if content is None:
            return web.Response(status=404)
        return web.Response(body=content, content_type="text/calendar")
