"""Rules about what the service user may read and write."""
