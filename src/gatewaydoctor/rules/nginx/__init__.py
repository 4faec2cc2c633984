"""Rules about nginx: its configuration, its process and where it forwards."""
