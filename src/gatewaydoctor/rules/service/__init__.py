"""Rules about the service that runs the app: systemd units and supervisor programs."""
