"""Rules about the network in front of nginx."""
