"""Read a /metrics page: samples by name and labels, for before/after checks."""

from __future__ import annotations

import importlib

import requests

Samples = list[tuple[str, dict[str, str], float]]


def scrape(url: str, headers: dict[str, str] | None = None) -> Samples:
    """Every sample on the page at ``url`` as (name, labels, value)."""
    importlib.import_module("metrics")  # first: it chooses prometheus_client's mode
    from prometheus_client.parser import text_string_to_metric_families

    response = requests.get(url, headers=headers, timeout=10)
    response.raise_for_status()
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    ]


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(
        value
        for sample_name, sample_labels, value in samples
        if sample_name == name
        and all(sample_labels.get(key) == want for key, want in labels.items())
    )
