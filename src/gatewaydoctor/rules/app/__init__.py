"""Rules about the Python application itself: imports, dependencies, the app target."""
