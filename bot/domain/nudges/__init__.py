"""The next-action engine: facts in SQL, rules in YAML, fatigue control, and the one
decision per rep (`plan.decide`) the job and the worklist's "Nudge now" share."""
