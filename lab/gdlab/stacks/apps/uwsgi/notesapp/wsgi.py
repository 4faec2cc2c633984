"""The WSGI callable uWSGI loads (`module = notesapp.wsgi:application`)."""

from notesapp.views import app as application  # noqa: F401
