"""Rules about the app behind nginx: too slow, or its workers killed mid-request."""
