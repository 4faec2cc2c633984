"""A FastAPI app written as a package: it must be imported as backend.main."""

from fastapi import FastAPI

from .config import GREETING
from .routers import live

app = FastAPI(title="relpkg")
app.include_router(live.router, prefix="/live")


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"greeting": GREETING}
