"""The notes app's routes; its data lives in the stack's PostgreSQL (NOTES_DATABASE_URL)."""

import os
import time

import psycopg2
from flask import Flask, jsonify

app = Flask("notesapp")
DSN = os.environ.get("NOTES_DATABASE_URL", "")


@app.route("/notes/")
def notes():  # type: ignore[no-untyped-def]
    with psycopg2.connect(DSN, connect_timeout=3) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1, 'first note'")
        rows = cur.fetchall()
    return jsonify(notes=[{"id": r[0], "text": r[1]} for r in rows])


@app.route("/ping/db")
def ping_db():  # type: ignore[no-untyped-def]
    try:
        psycopg2.connect(DSN, connect_timeout=3).close()
    except psycopg2.Error as exc:
        return jsonify(db="down", error=str(exc).strip().splitlines()[-1]), 503
    return jsonify(db="up")


@app.route("/notes/export")
def export():  # type: ignore[no-untyped-def]
    time.sleep(5)  # a slow export
    return jsonify(notes=[])
