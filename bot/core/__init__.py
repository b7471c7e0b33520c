"""Foundation every layer may use: settings, time, number formats, packaged files, logging.

Imports nothing else from `bot`."""
