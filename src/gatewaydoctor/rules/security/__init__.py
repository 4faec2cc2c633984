"""Rules about security modules: SELinux denying nginx the connection to the app."""
