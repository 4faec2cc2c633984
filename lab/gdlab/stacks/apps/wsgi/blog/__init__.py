"""A Flask blog (WSGI), run by gunicorn's sync workers under supervisord."""

import os
import time

import psycopg2
from flask import Flask, jsonify


def create_app() -> Flask:
    app = Flask(__name__)
    dsn = os.environ["BLOG_DSN"]

    @app.get("/status")
    def status():  # type: ignore[no-untyped-def]
        try:
            psycopg2.connect(dsn, connect_timeout=3).close()
        except psycopg2.Error as exc:
            return jsonify(db="down", error=str(exc).strip().splitlines()[-1]), 503
        return jsonify(db="up")

    @app.get("/posts/")
    def posts():  # type: ignore[no-untyped-def]
        return jsonify(posts=[{"id": 1, "title": "Hello"}])

    @app.get("/posts/archive")
    def archive():  # type: ignore[no-untyped-def]
        time.sleep(5)  # a slow query
        return jsonify(posts=[])

    return app
