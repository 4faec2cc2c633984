"""Rules not yet moved to one module each (rules/<area>/<rule>.py); emptied as they move."""
