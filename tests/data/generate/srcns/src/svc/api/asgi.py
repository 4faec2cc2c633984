"""A Starlette app in a src/ layout whose src/ is no package: served as svc.api.asgi."""

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from ..core import NAME


async def home(request):  # type: ignore[no-untyped-def]
    return PlainTextResponse(NAME)


application = Starlette(routes=[Route("/", home)])
