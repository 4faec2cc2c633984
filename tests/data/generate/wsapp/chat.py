"""A Starlette chat: one page and one websocket."""

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket


async def home(request):  # type: ignore[no-untyped-def]
    return PlainTextResponse("chat")


async def talk(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text("hi")
    await ws.close()


chat = Starlette(routes=[Route("/", home), WebSocketRoute("/ws/chat", talk)])
