"""Rules about permissions: who may read, write or connect to what."""
