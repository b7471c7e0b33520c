"""Everything Slack-shaped: the Bolt app, ids, clients, Block Kit, messages, sending."""
