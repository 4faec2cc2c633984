"""Rules about ports."""
