"""A Flask blog made by a factory."""

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/posts")
    def posts() -> dict[str, list[str]]:
        return {"posts": ["first"]}

    return app
