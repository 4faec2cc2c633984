"""Rules about the host under the app: memory, disks."""
