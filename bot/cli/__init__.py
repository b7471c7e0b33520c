"""The `prm` command line (typer): one module per command group, wired in `main.py`."""
