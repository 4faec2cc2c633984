"""One file, the app named `api`, a websocket declared on it."""

from fastapi import FastAPI, WebSocket

api = FastAPI(docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None)


@api.get("/")
def root() -> dict[str, str]:
    return {"ok": "yes"}


@api.websocket("/ws")
async def ws(sock: WebSocket) -> None:
    await sock.accept()
    await sock.close()
