"""Reads Prometheus's text exposition format on stdin with the reference parser of PyPI's
prometheus-client and prints its samples as JSON: [[name, labels, value], ...]."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        samples.append([sample.name, sample.labels, sample.value])
print(json.dumps(samples))
