"""Chat-ops PRM: partner activity, the five process KPIs, and the Slack bot that carries them."""

__version__ = "0.1.0"
