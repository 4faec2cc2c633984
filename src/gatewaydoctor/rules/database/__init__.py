"""Rules about the database behind the app."""
