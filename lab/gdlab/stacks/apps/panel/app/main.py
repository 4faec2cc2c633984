"""An API deployed the Baota (宝塔) way: uvicorn started by hand or by pm2."""

import time

import psycopg2
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from app.config import settings

app = FastAPI(title="api")


@app.get("/api/ping")
def ping() -> JSONResponse:
    try:
        psycopg2.connect(settings.database_url, connect_timeout=3).close()
    except psycopg2.Error as exc:
        return JSONResponse({"code": 500, "msg": str(exc).strip().splitlines()[-1]},
                            status_code=503)
    return JSONResponse({"code": 0, "msg": "pong"})


@app.get("/api/items")
def items() -> dict[str, object]:
    return {"code": 0, "data": [1, 2, 3]}


@app.get("/api/export")
def export() -> dict[str, object]:
    time.sleep(5)  # a slow export
    return {"code": 0}
