"""A websocket on a router: its path depends on the prefix it is included with."""

from fastapi import APIRouter, WebSocket

from ..config import GREETING

router = APIRouter()


@router.websocket("/feed")
async def feed(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text(GREETING)
    await ws.close()
