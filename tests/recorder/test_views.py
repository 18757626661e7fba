"""The recorder over HTTP: instructors download and upload recordings (with CSRF); every
page's timeline reads its data."""

import gzip
import io

import pytest
from django.test import Client

from archviz.recorder.keys import IMPORTED
from archviz.recorder.source import recording_named
from tests.recorder.conftest import RUN, START_MS

pytestmark = pytest.mark.usefixtures("in_process_db")


@pytest.fixture
def instructor(instructor_user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(instructor_user)
    return client


def _csrf(client: Client) -> str:
    client.get("/recorder/")
    return client.cookies["csrftoken"].value


def _upload(client: Client, raw: bytes, name: str, token: str | None = None):
    upload = io.BytesIO(raw)
    upload.name = "run.jsonl.gz"
    data = {"file": upload, "name": name}
    if token is not None:
        data["csrfmiddlewaretoken"] = token
    return client.post("/recorder/import", data)


def test_a_learner_can_neither_download_nor_upload(client, recorded_run) -> None:
    """Every recordings URL answers a learner 403 (the permission is checked on the server)."""
    assert client.get("/recorder/").status_code == 403
    assert client.get(f"/recorder/{RUN}/recording.jsonl.gz").status_code == 403
    assert client.get(f"/recorder/{RUN}/perfetto.json").status_code == 403
    assert client.post("/recorder/import", {"name": "x"}).status_code == 403


def test_a_download_uploaded_elsewhere_is_the_same_recording(
    instructor, recorded_run, redis_client
) -> None:
    """Download the .jsonl.gz, upload it under a new name: the same entries."""
    response = instructor.get(f"/recorder/{RUN}/recording.jsonl.gz")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    raw = b"".join(response.streaming_content)
    assert gzip.decompress(raw).startswith(b'{"format": "archviz-recording", "version": 1')
    answer = _upload(instructor, raw, "copy", _csrf(instructor))
    assert answer.status_code == 302 and "imported=copy" in answer["Location"]
    page = instructor.get(answer["Location"]).content.decode()
    assert "Imported 15 entries as “copy”" in page
    original, copy = recording_named(redis_client, RUN), recording_named(redis_client, "copy")
    for stream in ("trace", "keyframes", "markers"):
        assert list(copy.entries(stream)) == list(original.entries(stream))


def test_an_upload_without_its_csrf_token_is_refused(instructor, recorded_run) -> None:
    """The import form needs its CSRF token: without it, 403 and nothing stored."""
    raw = b"".join(instructor.get(f"/recorder/{RUN}/recording.jsonl.gz").streaming_content)
    assert _upload(instructor, raw, "nocsrf").status_code == 403


def test_a_bad_upload_says_why_and_the_page_still_serves(instructor, redis_client) -> None:
    """A truncated file: 400, the reason on the page, nothing stored."""
    token = _csrf(instructor)
    answer = _upload(instructor, gzip.compress(b'{"format": 1}\n')[:-5], "bad", token)
    assert answer.status_code == 400
    assert "not imported: not a whole .jsonl.gz file" in answer.content.decode()
    assert not redis_client.sismember(IMPORTED, "bad")
    assert instructor.get("/recorder/").status_code == 200


def test_the_perfetto_download_is_chrome_trace_json(instructor, recorded_run) -> None:
    """perfetto.json is the Chrome Trace Event export."""
    response = instructor.get(f"/recorder/{RUN}/perfetto.json")
    assert response.status_code == 200
    assert b'"traceEvents"' in b"".join(response.streaming_content)


def test_the_timeline_counts_each_process_and_lists_the_markers(client, recorded_run) -> None:
    """Lanes per process with their events in buckets, and the markers of the range."""
    found = client.get(f"/api/recorder/timeline?recording={RUN}&start={START_MS}").json()
    assert found["span"] == [START_MS, START_MS + 9000]
    assert sum(found["lanes"]["traffic"]) == 1 and sum(found["lanes"]["lb"]) == 1
    assert sum(found["lanes"]["supervisor"]) == 1
    assert [m["label"] for m in found["markers"]] == ["node-1: node.down", "node-1: node.up"]
    assert client.get("/api/recorder/timeline?recording=nope").status_code == 404
