"""The load-balancer page as served: what its template promises a learner."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_fairness_chart_says_what_jains_index_means(client: Client) -> None:
    """Jain's index is explained beside its chart, including why least connections lowers it."""
    html = client.get("/lb/").content.decode()
    found = re.search(r'<span id="fairness-explain"[^>]*>(.*?)</span>', html, re.S)
    assert found, "no explanation of the fairness index"
    words = found.group(1)
    assert "1.0 = every node got the same share" in words
    assert "least connections lowers it on purpose when a node is slow" in words
