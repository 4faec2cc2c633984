"""The WSGI entry point gunicorn loads (wsgi:app)."""

from blog import create_app

app = create_app()
