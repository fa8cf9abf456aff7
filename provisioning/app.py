# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP side: Starlette routes over the Store. Log lines name accounts and message ids, never a token,
a password or a request path (which carries the token); uvicorn's access log is off (see __main__)."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.routing import Route

from .collection import module_utils
from .platforms import platform_of
from .store import PUBLIC_KEY_LIMIT, LinkGone, LinkUnknown, MessageUnknown, Store, SwitchboardError

LOG = logging.getLogger("provisioning")
BODY_LIMIT = PUBLIC_KEY_LIMIT + 4096
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
UNKNOWN = PlainTextResponse("unknown link\n", status_code=404, headers=NO_STORE)
GONE = PlainTextResponse("this link was already used or has expired: ask your administrator for a new one\n",
                         status_code=410, headers=NO_STORE)
ACTIVATION_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Activate your account</title></head>
<body><h1>Activate your account</h1>
<p>Open this link in the app to configure your account. It works once.</p>
<form method="post"><button type="submit">Activate</button></form>
</body></html>
"""


class BadRequest(Exception):
    pass


def create_app(dsn, sip_domain, proxy, lock_timeout=10, dlr_clients=("127.0.0.1", "::1"), rpc_url=None):
    store = Store(dsn, sip_domain, proxy, lock_timeout)

    async def link_call(function, *args):
        """A Store call in a worker thread (the drivers block); links that do not work answer no data."""
        try:
            return await run_in_threadpool(function, *args)
        except LinkUnknown:
            LOG.info("refused an unknown link (404)")
            return UNKNOWN
        except LinkGone:
            LOG.info("refused a used or expired link (410)")
            return GONE

    async def install(request):
        platform = platform_of(request.headers.get("user-agent"))
        found = await link_call(store.installed, request.path_params["token"], platform)
        if not isinstance(found, tuple):
            return found
        account, url = found
        LOG.info("installation link opened for account %s (platform %s)", account, platform)
        if url is None:
            return HTMLResponse("<p>Install the app from your device's app store.</p>\n", headers=NO_STORE)
        return RedirectResponse(url, status_code=302, headers=NO_STORE)

    async def activation_page(request):
        refused = await link_call(store.activation_open, request.path_params["token"])
        return refused or HTMLResponse(ACTIVATION_PAGE, headers=NO_STORE)

    async def activate(request):
        try:
            public_key = await _public_key(request)
        except BadRequest as exc:
            return PlainTextResponse("%s\n" % exc, status_code=400, headers=NO_STORE)
        found = await link_call(store.activate, request.path_params["token"], public_key)
        if not isinstance(found, tuple):
            return found
        account, configuration = found
        LOG.info("account %s activated%s", account, " (client key uploaded)" if public_key else "")
        if configuration["password"]:
            await run_in_threadpool(_drop_old_registrations, rpc_url, sip_domain, account, configuration["username"])
        return JSONResponse(configuration, headers=NO_STORE)

    async def delivery_report(request):
        if request.client is None or request.client.host not in dlr_clients:
            LOG.warning("refused a delivery report from %s", request.client.host if request.client else "?")
            return PlainTextResponse("forbidden\n", status_code=403)
        message_id, status = request.query_params.get("id"), request.query_params.get("status")
        try:
            account, state = await run_in_threadpool(store.delivery_report, message_id or "", status)
        except ValueError as exc:
            return PlainTextResponse("%s\n" % exc, status_code=400)
        except MessageUnknown:
            LOG.warning("delivery report for unknown message %r", message_id)
            return PlainTextResponse("unknown message\n", status_code=404)
        LOG.info("delivery report %s for message %s (account %s): %s", status, message_id, account, state)
        return PlainTextResponse("%s\n" % state)

    async def healthz(_request):
        try:
            await run_in_threadpool(store.check)
        except SwitchboardError as exc:
            return PlainTextResponse("unhealthy: %s\n" % exc, status_code=503)
        return PlainTextResponse("ok\n")

    async def failed(_request, exc):
        """The database said no: the cause (DSN redacted by the engine), never the request."""
        LOG.error("%s", exc)
        return PlainTextResponse("service unavailable\n", status_code=503, headers=NO_STORE)

    return Starlette(routes=[
        Route("/i/{token}", install, methods=["GET"]),
        Route("/a/{token}", activation_page, methods=["GET"]),
        Route("/a/{token}", activate, methods=["POST"]),
        Route("/dlr", delivery_report, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ], exception_handlers={SwitchboardError: failed})


def _drop_old_registrations(rpc_url, sip_domain, account, username):
    """Committed, not yet answered: whatever is registered now used the old password (an account activated
    again after revoke_keys or a re-sent link), so Kamailio forgets it; the new client registers after this."""
    if not rpc_url:
        return
    _report, warnings = module_utils("pbx.server").unregister(rpc_url, sip_domain, [username], False)
    for warning in warnings:
        LOG.warning("account %s: %s", account, warning)


async def _public_key(request):
    """The optional `public_key` of a JSON or form body: text, at most PUBLIC_KEY_LIMIT characters."""
    body = await request.body()
    if len(body) > BODY_LIMIT:
        raise BadRequest("the request body is larger than %d bytes" % BODY_LIMIT)
    if not body.strip():
        return None
    try:
        text = body.decode("utf-8")
        fields = json.loads(text) if "json" in request.headers.get("content-type", "") else {
            name: values[-1] for name, values in parse_qs(text).items()}
    except ValueError:
        raise BadRequest("the body is neither JSON nor a form") from None
    key = fields.get("public_key") if isinstance(fields, dict) else None
    if key is not None and (not isinstance(key, str) or len(key) > PUBLIC_KEY_LIMIT or not key.strip()):
        raise BadRequest("public_key must be non-empty text of at most %d characters" % PUBLIC_KEY_LIMIT)
    return key
