"""Rules about the service's configuration: EnvironmentFile/.env, required variables."""
