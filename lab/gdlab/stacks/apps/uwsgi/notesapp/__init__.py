"""notes: a small Flask app served by uWSGI (`module = notesapp.wsgi:application`)."""
