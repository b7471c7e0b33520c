"""Scheduled jobs: the registry (jobs as data), the scheduler, one module per job."""
