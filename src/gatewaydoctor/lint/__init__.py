"""`gatewaydoctor lint [FILES...]`: the mistakes in unit, program and site files that cause
the failure modes diagnose finds at run time, found before they run.

`run.lint(options)` reads the files given (or the host's own, found from what runs), runs
every check (`checks/<check>.py`: one per module, declared like a rule) and returns the
findings as data; `output` renders them as text, JSON or SARIF 2.1.0; `command` is the CLI's
glue. Lint reads files and asks nginx for its configuration (`nginx -T`); it never changes
the host and never runs the app.
"""
