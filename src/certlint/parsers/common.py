"""What both config parsers share: safe reading of config files and `--root` mapping."""

from __future__ import annotations

import os

from certlint.model import ConfigError, ServerConfig

MAX_CONFIG_BYTES = 64 * 1024 * 1024


def map_root(path: str, root: str | None) -> str:
    """An absolute path from a config, placed under `--root` when one is given."""
    path = os.path.normpath(path)
    if root:
        return os.path.join(root, path.lstrip("/"))
    return path


class ConfigFileReader:
    """Read a config file as bytes, turning every way it can fail into a `ConfigError`."""

    def read(self, path: str, config: ServerConfig, fatal: bool = False,
             shown: str | None = None) -> bytes | None:
        shown = shown or path
        try:
            if os.path.isdir(path):
                raise IsADirectoryError(21, "Is a directory")
            size = os.path.getsize(path)
            if size > MAX_CONFIG_BYTES:
                config.errors.append(ConfigError(
                    f"config file is {size} bytes, larger than the {MAX_CONFIG_BYTES} certlint "
                    "reads: is this really a config file?", shown, 0, fatal))
                return None
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            config.errors.append(ConfigError(f"cannot read config file: {reason}", shown, 0,
                                             fatal))
            return None
        if b"\0" in data:
            config.errors.append(ConfigError(
                "binary file, not a text config (it holds NUL bytes)", shown, 0, fatal))
            return None
        return data
