"""HTTP: the ASGI app, the integration API and tracked links."""
