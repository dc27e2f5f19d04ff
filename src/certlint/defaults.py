"""Defaults the command line shows before anything heavy is imported."""

DEFAULT_APACHE_VERSION = "2.4.62"
