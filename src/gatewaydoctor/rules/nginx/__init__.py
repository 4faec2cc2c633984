"""Rules about nginx itself: its limits, buffers and connections to the app."""
