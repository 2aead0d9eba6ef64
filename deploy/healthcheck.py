"""Container health check: exit 0 when one of the given URLs answers 2xx.

The image runs either the Rasa server or the action server, so its HEALTHCHECK
asks both (whichever this container runs answers); compose names the one URL
each service must answer. Standard library only, and quick: it runs every few
seconds in every container.

    python deploy/healthcheck.py [URL ...]
"""

from __future__ import annotations

import http.client
import sys
import urllib.request

DEFAULT_URLS = (
    "http://127.0.0.1:5005/webhooks/rest/",  # Rasa server: REST channel is up
    "http://127.0.0.1:5055/health",  # action server
)
TIMEOUT_S = 3


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return 200 <= response.status < 300
    # Refused, timed out, an HTTP error status, or not HTTP at all.
    except (OSError, http.client.HTTPException):
        return False


def main(urls: list[str]) -> int:
    return 0 if any(answers(url) for url in urls or DEFAULT_URLS) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
