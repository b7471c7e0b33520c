"""The next-action engine: facts in SQL, rules in YAML, fatigue control."""
