"""Rules about the requests made from the host (the fallback when nothing explains them)."""
