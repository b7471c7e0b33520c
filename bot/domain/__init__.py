"""The domain: who sees what, registrations, alerts, tips, scorecards, nudges, content.

Free of Slack and HTTP: it takes a connection and returns plain data."""
