"""The playground's paperclip: a calendar attached to the next command, in headless Chromium
(and the API limits it relies on)."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.fakes.browser import playground_as, screenshot
from tests.fakes.calendars import KERST, VOORJAAR, school_calendar
from tests.fakes.playground import Playground

ICS = school_calendar(KERST, VOORJAAR)


async def test_attach_a_calendar_and_import_it(sqlite_url: str, tmp_path: Path, browser_page, browser_requests) -> None:
    calendar = tmp_path / "schoolvakanties.ics"
    calendar.write_bytes(ICS)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a calendar")
    big = tmp_path / "big.ics"
    big.write_bytes(ICS + b" " * (512 * 1024))

    page = browser_page
    async with playground_as(sqlite_url, page, "anna"):
        attach = page.get_by_test_id("attach")
        assert await attach.get_attribute("aria-label") == "Attach a calendar file (.ics)"
        file_input = page.get_by_test_id("file-input")

        # Not a calendar, or too large: refused with a toast, nothing attached.
        await file_input.set_input_files(str(notes))
        await page.get_by_text("Only calendar files (.ics) can be attached.").wait_for()
        await file_input.set_input_files(str(big))
        await page.get_by_text("That file is larger than 512 KiB.").wait_for()
        assert await page.get_by_test_id("attached-file").count() == 0

        # Attached, removed, attached again: the chip shows the name and can be removed.
        await file_input.set_input_files(str(calendar))
        chip = page.get_by_test_id("attached-file")
        await chip.wait_for()
        assert "schoolvakanties.ics" in await chip.inner_text()
        await page.get_by_test_id("remove-file").click()
        await chip.wait_for(state="detached")
        assert await page.get_by_test_id("attachments").is_hidden()
        await file_input.set_input_files(str(calendar))
        await chip.wait_for()
        assert await page.get_by_label("Remove schoolvakanties.ics").count() == 1

        await page.get_by_test_id("composer").fill("/ritme holiday import")
        await screenshot(page, "playground-attached-calendar")
        await page.get_by_test_id("send").click()
        await page.get_by_text("Holiday periods added: 2").wait_for()
        await chip.wait_for(state="detached")  # the file went with that command only
        files = page.get_by_test_id("message-files")
        assert "schoolvakanties.ics" in await files.first.inner_text()
        await screenshot(page, "playground-imported-calendar")

        await page.get_by_test_id("composer").fill("/ritme holiday list")
        await page.get_by_test_id("send").click()
        await page.get_by_text("Kerstvakantie").first.wait_for()
        await page.get_by_text("Voorjaarsvakantie").first.wait_for()
    browser_requests.assert_only_local()


async def test_the_api_takes_a_calendar_of_the_largest_size_the_page_allows(pg: Playground) -> None:
    content = ICS + b" " * (512 * 1024 - len(ICS))  # 512 KiB: 683 KiB as base64
    body = {
        "user": "anna",
        "text": "holiday import",
        "files": [{"name": "vakanties.ics", "content_base64": base64.b64encode(content).decode()}],
    }
    resp = await pg.client.post("/playground/api/command", json=body)
    assert resp.status == 200, await resp.text()
    assert "Holiday periods added: 2" in (await resp.json())["reply"]["text"]


async def test_the_labels_of_the_paperclip_come_translated(pg: Playground) -> None:
    await pg.command("anna", "language nl")
    labels = (await pg.state("anna"))["labels"]
    assert labels["attach"] != "Attach a calendar file (.ics)"
    assert "{name}" in labels["remove_file"] and "{size}" in labels["file_too_large"]
    assert labels["max_file_kib"] == 512
