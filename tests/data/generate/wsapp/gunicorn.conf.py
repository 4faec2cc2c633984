bind = ["0.0.0.0:7311"]
workers = 2
