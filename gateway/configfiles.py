"""Reading TOML files with ``${ENV}`` interpolation, and the one error bad config raises."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(Exception):
    """Bad configuration: the message names the file and the field."""


def _where(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def interpolate(value: Any, env: Mapping[str, str], *, file: Path, path: tuple[str | int, ...] = ()) -> Any:
    """Replace ``${NAME}`` in every string; a missing variable is a ``ConfigError`` naming it."""
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in env:
                raise ConfigError(
                    f"{file}: {_where(path)}: environment variable {name} is not set (referenced as ${{{name}}})"
                )
            return env[name]

        return _ENV_REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: interpolate(v, env, file=file, path=(*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, file=file, path=(*path, i)) for i, v in enumerate(value)]
    return value


def load_toml(file: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    result: dict[str, Any] = interpolate(raw, os.environ if env is None else env, file=file)
    return result


def validation_error(file: Path, exc: ValidationError) -> ConfigError:
    """One readable line per field problem, each naming the file and the field."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{file}: {loc}: {err['msg']}")
    return ConfigError("\n".join(lines))
