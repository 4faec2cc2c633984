"""Rules about the hop from nginx to the app: nothing answers, it is too slow, or its workers
are killed mid-request."""
