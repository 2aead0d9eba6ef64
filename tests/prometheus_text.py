"""Read a /metrics page: samples by name and labels, for before/after checks."""

from __future__ import annotations

import importlib

import requests

Samples = list[tuple[str, dict[str, str], float]]


def parse(text: str) -> Samples:
    """Every sample in a page of Prometheus's text format as (name, labels, value)."""
    importlib.import_module("metrics")  # first: it chooses prometheus_client's mode
    from prometheus_client.parser import text_string_to_metric_families

    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def scrape(url: str) -> Samples:
    """Every sample on the /metrics page at ``url``."""
    response = requests.get(url, timeout=10)
    response.raise_for_status()
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def in_this_process() -> Samples:
    """What this process's /metrics would show (in-process action tests)."""
    return parse(importlib.import_module("metrics").exposition().decode())


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(
        value
        for sample_name, sample_labels, value in samples
        if sample_name == name
        and all(sample_labels.get(key) == want for key, want in labels.items())
    )
