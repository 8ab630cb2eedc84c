"""The Files API through the official SDK (`client.beta.files`), file resources mounted into
sessions (`sessions.resources`), and files an agent writes under /mnt/session/outputs."""

from __future__ import annotations

import anthropic
import pytest

from support import expect_error, idle_count, make_agent, make_environment, runtime_session, TOOLSET, user_message, wait_for


def test_upload_list_retrieve_download_delete(client) -> None:
    uploaded = client.beta.files.upload(file=("notes/report.csv", b"region,total\nnorth,12\n", "text/csv"))
    assert uploaded.type == "file"
    assert uploaded.id.startswith("file_")
    assert uploaded.filename == "report.csv", "only the last path component is kept"
    assert uploaded.mime_type == "text/csv"
    assert uploaded.size_bytes == 22
    assert uploaded.downloadable is True
    assert uploaded.scope is None

    again = client.beta.files.retrieve_metadata(uploaded.id)
    assert again == uploaded
    assert client.beta.files.download(uploaded.id).read() == b"region,total\nnorth,12\n"

    # The same bytes twice are two files (the content is kept once).
    twin = client.beta.files.upload(file=("copy.csv", b"region,total\nnorth,12\n"))
    assert twin.id != uploaded.id
    assert twin.mime_type == "text/csv", "guessed from the name when the client sends none"

    listed = client.beta.files.list(ids=[uploaded.id, twin.id, "file_missing"])
    assert sorted(file.id for file in listed.data) == sorted([uploaded.id, twin.id])
    assert listed.next_page is None

    deleted = client.beta.files.delete(uploaded.id)
    assert deleted.id == uploaded.id and deleted.type == "file_deleted"
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", uploaded.id):
        client.beta.files.retrieve_metadata(uploaded.id)
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", uploaded.id):
        client.beta.files.download(uploaded.id)
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", uploaded.id):
        client.beta.files.delete(uploaded.id)
    # The twin still has its bytes.
    assert client.beta.files.download(twin.id).read() == b"region,total\nnorth,12\n"


def test_list_pages_newest_first(client) -> None:
    made = [client.beta.files.upload(file=(f"page-{index}.txt", f"file {index}".encode())).id for index in range(5)]
    first = client.beta.files.list(limit=2)
    assert len(first.data) == 2
    seen = [file.id for file in first]
    assert seen.index(made[4]) < seen.index(made[0]), "newest first"
    assert set(made) <= set(seen)
    assert len(seen) == len(set(seen))


def test_bad_uploads_are_refused(make_server) -> None:
    client = make_server("--max-upload-bytes", "1024").client()
    with expect_error(anthropic.ContentTooLargeError, 413, "request_too_large", "1024"):
        client.beta.files.upload(file=("big.bin", b"x" * 4096))
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "expires_in_seconds"):
        client.beta.files.upload(file=("a.txt", b"a"), expires_in_seconds=5)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "multipart/form-data"):
        client.post("/v1/files", cast_to=object, body={"file": "not multipart"})
    assert client.beta.files.list().data == [], "nothing was kept"


def test_a_file_resource_is_read_by_the_agent_and_an_output_is_downloadable(make_server, mock_llm) -> None:
    mock = mock_llm({
        "rules": [
            {"name": "read", "last_user_contains": "Summarise the upload",
             "reply": [{"type": "tool_use", "name": "bash", "input": {
                 "command": "cat /mnt/session/uploads/$(ls /mnt/session/uploads) /mnt/data/extra.txt && "
                            "mkdir -p /mnt/session/outputs/reports && wc -l < /mnt/session/uploads/* > /mnt/session/outputs/reports/lines.txt"}}]},
            {"name": "write-denied", "last_user_contains": "region,total",
             "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "echo changed > /mnt/data/extra.txt"}}]},
            {"name": "done", "last_user_contains": "Read-only", "reply": "Done."},
            {"name": "done2", "last_user_contains": "read-only", "reply": "Done."},
        ]
    })
    server = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    data = client.beta.files.upload(file=("sales.csv", b"region,total\nnorth,12\nsouth,7\n", "text/csv"))
    extra = client.beta.files.upload(file=("extra.txt", b"the extra file\n"))
    agent = make_agent(client, tools=TOOLSET)
    session = client.beta.sessions.create(
        agent=agent.id, environment_id=make_environment(client).id, resources=[{"type": "file", "file_id": data.id}])
    resources = client.beta.sessions.resources.list(session.id).data
    assert [(resource.type, resource.file_id, resource.mount_path) for resource in resources] == [
        ("file", data.id, f"/mnt/session/uploads/{data.id}")]
    added = client.beta.sessions.resources.add(session.id, type="file", file_id=extra.id, mount_path="/mnt/data/extra.txt")
    assert added.type == "file" and added.mount_path == "/mnt/data/extra.txt" and added.id.startswith("sesrsc_")
    assert client.beta.sessions.resources.retrieve(added.id, session_id=session.id).file_id == extra.id

    client.beta.sessions.events.send(session.id, events=[user_message("Summarise the upload.")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)
    results = [event for event in events if event.type == "agent.tool_result"]
    assert "north,12" in results[0].content[0].text and "the extra file" in results[0].content[0].text
    assert results[1].is_error or "Read-only" in results[1].content[0].text or "read-only" in results[1].content[0].text
    assert client.beta.files.download(extra.id).read() == b"the extra file\n", "the mount is read-only"

    outputs = client.beta.files.list(scope_id=session.id).data
    assert [file.filename for file in outputs] == ["reports/lines.txt"]
    assert outputs[0].scope.type == "session" and outputs[0].scope.id == session.id
    assert client.beta.files.download(outputs[0].id).read().strip() == b"3"


def test_file_resource_errors(client) -> None:
    agent = make_agent(client)
    environment = make_environment(client)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "file_missing"):
        client.beta.sessions.create(agent=agent.id, environment_id=environment.id, resources=[{"type": "file", "file_id": "file_missing"}])
    uploaded = client.beta.files.upload(file=("a.txt", b"a"))
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "mount_path"):
        client.beta.sessions.create(
            agent=agent.id, environment_id=environment.id, resources=[{"type": "file", "file_id": uploaded.id, "mount_path": "/workspace/a.txt"}])
    session = client.beta.sessions.create(agent=agent.id, environment_id=environment.id)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "mount_path"):
        client.beta.sessions.resources.add(session.id, type="file", file_id=uploaded.id, mount_path="relative/a.txt")
    added = client.beta.sessions.resources.add(session.id, type="file", file_id=uploaded.id)
    deleted = client.beta.sessions.resources.delete(added.id, session_id=session.id)
    assert deleted.id == added.id
    assert client.beta.sessions.resources.list(session.id).data == []


def test_a_self_hosted_environment_refuses_file_resources(client) -> None:
    """Its workers (the SDK's EnvironmentWorker, `reverie worker`) cannot mount files: refused
    up front rather than silently missing, for sessions, added resources and deployments."""
    agent = make_agent(client)
    workers = client.beta.environments.create(name="workers", config={"type": "self_hosted"})
    uploaded = client.beta.files.upload(file=("b.txt", b"b"))
    resource = {"type": "file", "file_id": uploaded.id}
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "self_hosted") as error:
        client.beta.sessions.create(agent=agent.id, environment_id=workers.id, resources=[resource])
    assert error.value.response.json()["error"]["details"]["error_code"] == "self_hosted_resources_unsupported"
    session = client.beta.sessions.create(agent=agent.id, environment_id=workers.id)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "self_hosted"):
        client.beta.sessions.resources.add(session.id, **resource)
    assert client.beta.sessions.resources.list(session.id).data == []
    message = {"type": "user.message", "content": [{"type": "text", "text": "go"}]}
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "self_hosted"):
        client.beta.deployments.create(name="nightly", agent=agent.id, environment_id=workers.id, initial_events=[message], resources=[resource])
