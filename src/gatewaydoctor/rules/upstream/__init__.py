"""Rules about the hop from nginx to the app: whether anything answers where nginx forwards."""
