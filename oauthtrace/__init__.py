"""oauthtrace: record, lint and replay OAuth 2.0 / OpenID Connect exchanges."""

__version__ = "0.1.0"
