"""Rules about nginx: its configuration, its process, its limits and buffers, and where it
forwards."""
