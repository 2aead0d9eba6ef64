"""Render the channels Rasa should open from credentials.yml and the environment.

credentials.yml takes every secret from a ``${VARIABLE}``, and Rasa refuses to
start when one of them is unset. This writes a copy holding only the connectors
whose variables are all set, and logs which are on or off and why, so a missing
secret turns one connector off instead of stopping the server.

Variables listed under the template's ``optional_variables`` switch a setting,
not a connector: while one is unset, the settings naming it are left out and the
connector stays on (e.g. the website channels without ``jwt_key``).

The copy keeps the ``${VARIABLE}`` placeholders: Rasa expands them when it reads
the file, so no secret is written to disk.

    python -m scripts.credentials [TEMPLATE] [OUTPUT]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger("credentials")

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
OPTIONAL_KEY = "optional_variables"
HEADER = (
    "# Written by scripts/credentials.py from {template}: only the connectors whose\n"
    "# variables are set. Rasa expands the ${{VARIABLES}}; edit {template} instead.\n"
)


def variables(value: Any) -> Iterator[str]:
    """Names of the ``${VARIABLES}`` in a connector's settings, in order."""
    if isinstance(value, str):
        yield from PLACEHOLDER.findall(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from variables(item)
    elif isinstance(value, list):
        for item in value:
            yield from variables(item)


def effective_channels(
    channels: Mapping[str, Any],
    environ: Mapping[str, str],
    optional: Collection[str] = (),
) -> dict[str, Any]:
    """The connectors whose variables are all set (non-empty), logging each one.

    A setting naming an unset ``optional`` variable is dropped, not its connector.
    """
    kept = {}
    for name, settings in channels.items():
        unset = list(
            dict.fromkeys(var for var in variables(settings) if not environ.get(var))
        )
        missing = [var for var in unset if var not in optional]
        if missing:
            logger.info("%s: off (%s not set)", name, ", ".join(missing))
            continue
        if unset:  # all optional: leave out the settings that name them
            dropped = [
                key
                for key, value in settings.items()
                if any(var in unset for var in variables(value))
            ]
            settings = {k: v for k, v in settings.items() if k not in dropped}
            logger.info(
                "%s: on; %s off (%s not set)",
                name,
                ", ".join(dropped),
                ", ".join(unset),
            )
        else:
            logger.info("%s: on", name)
        kept[name] = settings
    return kept


def render(template: Path, output: Path, environ: Mapping[str, str]) -> list[str]:
    """Write the effective credentials file; returns the names of the connectors."""
    channels = yaml.safe_load(template.read_text()) or {}
    optional = channels.pop(OPTIONAL_KEY, None) or []
    kept = effective_channels(channels, environ, optional)
    output.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(kept, sort_keys=False, default_flow_style=False)
    output.write_text(HEADER.format(template=template.name) + body)
    return list(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", nargs="?", type=Path, default="credentials.yml")
    parser.add_argument("output", nargs="?", type=Path, default="var/credentials.yml")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    render(args.template, args.output, os.environ)


if __name__ == "__main__":
    main()
