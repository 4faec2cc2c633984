"""The lab's backend: a FastAPI app like the ones the field runs behind nginx."""

import psycopg2
from config import settings
from fastapi import FastAPI
from fastapi.responses import JSONResponse

app = FastAPI(title="FastAPI Backend")


@app.get("/health")
def health() -> JSONResponse:
    """Answer with the database state, as the seeds' users expect."""
    try:
        with psycopg2.connect(settings.postgres_url, connect_timeout=3) as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchone()
    except psycopg2.Error as exc:
        return JSONResponse(
            status_code=503,
            content={
                "status": "error",
                "service": "FastAPI Backend",
                "database": "disconnected",
                "detail": str(exc).strip().splitlines()[-1],
            },
        )
    return JSONResponse({"status": "ok", "service": "FastAPI Backend", "database": "connected"})


@app.get("/api/health")
def api_health() -> dict[str, str]:
    return {"status": "healthy"}


@app.get("/api/slow")
def api_slow() -> dict[str, str]:
    """A slow report (a long query)."""
    import time

    time.sleep(5)
    return {"status": "done"}
