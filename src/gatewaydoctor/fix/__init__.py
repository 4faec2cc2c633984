"""Fixes: a plan built from the diagnosis (fix/remedies), shown as a dry run or a script
(fix/render.py, fix/script.py), carried out with backups, verified and rolled back
(fix/run.py; the verification is the app's, which diagnoses again)."""
