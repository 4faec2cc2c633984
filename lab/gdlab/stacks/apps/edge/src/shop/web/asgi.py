"""The shop's ASGI application: FastAPI, run by gunicorn with uvicorn workers."""

import time

import psycopg2
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from shop.settings import DATABASE_URL

application = FastAPI(title="shop")


@application.get("/healthz")
def healthz() -> JSONResponse:
    """Ready only when the database answers."""
    try:
        psycopg2.connect(DATABASE_URL, connect_timeout=3).close()
    except psycopg2.Error as exc:
        return JSONResponse({"ok": False, "error": str(exc).strip().splitlines()[-1]},
                            status_code=503)
    return JSONResponse({"ok": True})


@application.get("/v1/catalog")
def catalog() -> dict[str, list[str]]:
    return {"items": ["oolong", "jasmine", "pu-erh"]}


@application.get("/v1/report")
def report() -> dict[str, bool]:
    """A slow report (a long query)."""
    time.sleep(5)
    return {"done": True}
