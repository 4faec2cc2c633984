"""Rules about the service that runs the app: systemd units, supervisor programs, pm2 apps."""
