"""Skills through the official SDK (`client.beta.skills`, `.versions`), agents naming them,
and skills in sessions: the system prompt lists each skill's name and description only, and
the agent reads SKILL.md from the sandbox when it needs it."""

from __future__ import annotations

import io
import tarfile

import anthropic

from support import TOOLSET, expect_error, idle_count, make_agent, make_environment, user_message, wait_for

SKILL_MD = b"""---
name: csv-report
description: Turns a CSV file into a short report with totals per column.
---
# CSV report

1. Read the CSV with `python3 scripts/report.py <file>`.
2. Quote the totals in the answer.
"""


def skill_files(skill_md: bytes = SKILL_MD, folder: str = "csv-report"):
    return [
        (f"{folder}/SKILL.md", skill_md, "text/markdown"),
        (f"{folder}/scripts/report.py", b"print('totals')\n", "text/x-python"),
    ]


def test_skill_and_version_methods(client) -> None:
    skill = client.beta.skills.create(files=skill_files(), display_name="CSV reports")
    assert skill.type == "skill" and skill.id.startswith("skill_")
    assert skill.display_name == "CSV reports" and skill.source.type == "custom"
    first = client.beta.skills.versions.retrieve(skill.latest_version_id, skill_id=skill.id)
    assert first.name == "csv-report"
    assert first.description == "Turns a CSV file into a short report with totals per column."
    assert client.beta.skills.retrieve(skill.id) == skill
    assert skill.id in [item.id for item in client.beta.skills.list()]

    second = client.beta.skills.versions.create(skill.id, files=skill_files(SKILL_MD.replace(b"short report", b"brief report")))
    assert second.id != first.id and second.skill_id == skill.id
    assert client.beta.skills.retrieve(skill.id).latest_version_id == second.id
    assert [version.id for version in client.beta.skills.versions.list(skill.id)] == [second.id, first.id]
    assert client.beta.skills.versions.retrieve("latest", skill_id=skill.id).id == second.id

    archive = client.beta.skills.versions.download(second.id, skill_id=skill.id).read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        names = sorted(tar.getnames())
        assert names == ["csv-report/SKILL.md", "csv-report/scripts/report.py"]
        assert b"brief report" in tar.extractfile("csv-report/SKILL.md").read()

    # A version whose SKILL.md names another skill is refused.
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "csv-report"):
        client.beta.skills.versions.create(skill.id, files=skill_files(SKILL_MD.replace(b"name: csv-report", b"name: other")))

    deleted = client.beta.skills.versions.delete(first.id, skill_id=skill.id)
    assert deleted.id == first.id and deleted.type == "skill_version_deleted"
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", first.id):
        client.beta.skills.versions.retrieve(first.id, skill_id=skill.id)
    gone = client.beta.skills.delete(skill.id)
    assert gone.id == skill.id and gone.type == "skill_deleted"
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", skill.id):
        client.beta.skills.retrieve(skill.id)


def test_bad_skills_are_refused(client) -> None:
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "SKILL.md"):
        client.beta.skills.create(files=[("tool/README.md", b"no skill here", "text/markdown")])
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "description"):
        client.beta.skills.create(files=[("tool/SKILL.md", b"---\nname: tool\n---\n", "text/markdown")])
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "same top-level folder"):
        client.beta.skills.create(files=[("a/SKILL.md", SKILL_MD, "text/markdown"), ("b/x.txt", b"x", "text/plain")])
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "skill_missing"):
        make_agent(client, skills=[{"type": "custom", "skill_id": "skill_missing"}])
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "xlsx"):
        make_agent(client, skills=[{"type": "anthropic", "skill_id": "xlsx"}])


def test_a_skill_reaches_the_model_and_its_files_the_sandbox(make_server, mock_llm) -> None:
    mock = mock_llm({
        "rules": [
            {"name": "open-skill", "last_user_contains": "Report on the sales",
             "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "cat /mnt/skills/csv-report/SKILL.md && ls /mnt/skills/csv-report/scripts"}}]},
            {"name": "done", "last_user_contains": "report.py", "reply": "I followed the csv-report skill."},
        ]
    })
    client = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url}).client()
    skill = client.beta.skills.create(files=skill_files())
    agent = make_agent(client, tools=TOOLSET, skills=[{"type": "custom", "skill_id": skill.id}])
    assert [(entry.type, entry.skill_id, entry.version) for entry in agent.skills] == [("custom", skill.id, "latest")]
    session = client.beta.sessions.create(agent=agent.id, environment_id=make_environment(client).id)
    assert session.agent.skills[0].version == skill.latest_version_id, "the session pins the latest version"
    client.beta.sessions.events.send(session.id, events=[user_message("Report on the sales.")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)
    result = [event for event in events if event.type == "agent.tool_result"][0]
    assert "python3 scripts/report.py" in result.content[0].text and "report.py" in result.content[0].text
    first_request = mock.requests()[0]["body"]
    system = "".join(block["text"] for block in first_request["system"]) if isinstance(first_request["system"], list) else first_request["system"]
    assert "csv-report" in system and "Turns a CSV file into a short report with totals per column." in system
    assert "python3 scripts/report.py" not in system, "only the name and description, not SKILL.md itself"


def zipped(entries: dict[str, bytes]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_skill_uploaded_as_a_zip_archive(client) -> None:
    archive = zipped({"csv-report/SKILL.md": SKILL_MD, "csv-report/scripts/report.py": b"print('totals')\n"})
    skill = client.beta.skills.create(files=[("csv-report.zip", archive, "application/zip")])
    version = client.beta.skills.versions.retrieve("latest", skill_id=skill.id)
    assert version.name == "csv-report"
    download = client.beta.skills.versions.download(version.id, skill_id=skill.id).read()
    with tarfile.open(fileobj=io.BytesIO(download)) as tar:
        assert sorted(tar.getnames()) == ["csv-report/SKILL.md", "csv-report/scripts/report.py"]
        assert tar.extractfile("csv-report/scripts/report.py").read() == b"print('totals')\n"
    # An archive whose entries leave the skill's folder is refused.
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "../escape.txt"):
        client.beta.skills.create(files=[("evil.zip", zipped({"csv-report/SKILL.md": SKILL_MD, "../escape.txt": b"x"}), "application/zip")])
