"""certlint: lint and fix the TLS certificate setup of nginx and Apache httpd configs."""

__version__ = "0.1.0"
