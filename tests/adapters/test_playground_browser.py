"""The playground page in headless Chromium: a new user's first ritual, with nothing from outside."""

from __future__ import annotations

from adapters.playground.platform import CHANNEL
from bot.server import REPO
from tests.fakes.browser import playground_as, screenshot


async def test_playground_page_runs_a_ritual(sqlite_url: str, browser_page, browser_requests) -> None:
    page = browser_page
    async with playground_as(sqlite_url, page, "anna"):
        composer = page.get_by_test_id("composer")
        await composer.fill("/ritme add checkout every weekday at 16:30 team")
        await page.get_by_test_id("send").click()
        await page.get_by_text("Ritual #1 added").wait_for()
        await composer.fill("/ritme run #1")
        await page.get_by_test_id("send").click()
        prompt = page.locator('[data-testid="message"][data-type="prompt"]')
        await prompt.first.wait_for()
        occurrence = await prompt.first.get_attribute("data-occurrence")

        await page.get_by_test_id("persona-chris").click()
        await page.get_by_test_id(f"answer-{occurrence}").click()
        dialog = page.get_by_test_id("answer-dialog")
        await dialog.wait_for()
        await page.get_by_test_id("input-score-4").check()
        await page.get_by_test_id("input-takeaway").fill("A clear agenda helps me.")
        await screenshot(page, "playground-answer-dialog")
        await page.get_by_test_id("submit-answer").click()
        await dialog.wait_for(state="hidden")

        await page.get_by_test_id("persona-bram").click()
        await composer.fill("/ritme review #1")
        await page.get_by_test_id("send").click()
        await page.get_by_text("Chris: A clear agenda helps me.").wait_for()
        await screenshot(page, "playground-review")
        assert await page.get_by_text("1 of 4 answered").count() >= 1
    browser_requests.assert_only_local()
    assert any(url.endswith("/static/playground/app.js") for url in browser_requests.urls)


async def test_forget_me_reply_is_shown_though_the_server_keeps_it_nowhere(
    sqlite_url: str, browser_page, browser_requests
) -> None:
    """The reply to forget-me comes in the command's response only (a stored copy would hold
    the id of the person just forgotten): the page shows it, and still after the feed is drawn
    again from the server's messages."""
    page = browser_page
    async with playground_as(sqlite_url, page, "dewi") as app:
        composer = page.get_by_test_id("composer")
        await composer.fill("/ritme forget-me")
        await page.get_by_test_id("send").click()
        await page.get_by_text("Your data are erased").wait_for()
        await page.get_by_test_id("persona-anna").click()  # the feed is cleared and drawn again
        await page.get_by_text("Your data are erased").wait_for(state="detached")
        await page.get_by_test_id("persona-dewi").click()
        await page.get_by_text("Your data are erased").wait_for()
        assert await page.get_by_text("/ritme forget-me").count() == 1
        assert [p for _id, _u, p, _at in await app[REPO].channel_messages(CHANNEL, "dewi")] == []
    browser_requests.assert_only_local()


async def test_the_card_remembers_an_answer_after_a_reload(sqlite_url: str, browser_page, browser_requests) -> None:
    """After answering, the card says "Answered ✓ · change", also after a reload, and the form
    opens with the answer filled in; an anonymous card says "Answered ✓" and opens no form."""
    page = browser_page
    async with playground_as(sqlite_url, page, "anna"):
        composer = page.get_by_test_id("composer")
        for command in (
            "add checkout every weekday at 16:30 team",
            "add pulse every friday at 15:00",
            "run #1",
            "run #2",
        ):
            await composer.fill("/ritme " + command)
            await page.get_by_test_id("send").click()
            await page.locator('[data-testid="send"]:enabled').wait_for()  # sent: the next may go
        prompts = page.locator('[data-testid="message"][data-type="prompt"]')
        await prompts.nth(1).wait_for()
        checkout = await prompts.nth(0).get_attribute("data-occurrence")
        pulse = await prompts.nth(1).get_attribute("data-occurrence")

        await page.get_by_test_id("persona-chris").click()
        await page.get_by_test_id(f"answer-{checkout}").click()
        await page.get_by_test_id("input-score-4").check()
        await page.get_by_test_id("input-takeaway").fill("A clear agenda helps me.")
        await page.get_by_test_id("submit-answer").click()
        await page.get_by_test_id("answer-dialog").wait_for(state="hidden")
        await page.get_by_test_id(f"answer-{pulse}").click()
        for scale in await page.locator('[data-kind="scale"]').all():
            await scale.locator('input[value="3"]').check()
        await page.get_by_test_id("submit-answer").click()
        await page.get_by_test_id("answer-dialog").wait_for(state="hidden")

        await page.reload()  # the page remembers Chris; what it shows comes from the server again
        button = page.get_by_test_id(f"answer-{checkout}")
        await page.locator(f'[data-testid="answer-{checkout}"][data-answered="true"]').wait_for()
        assert (await button.inner_text()).strip() == "Answered ✓ · change"
        assert (await page.get_by_test_id(f"answered-{pulse}").inner_text()).strip() == "Answered ✓"
        assert await page.get_by_test_id(f"answer-{pulse}").count() == 0
        await screenshot(page, "playground-answered-cards")
        await button.click()
        await page.get_by_test_id("answer-dialog").wait_for()
        assert await page.get_by_test_id("input-score-4").is_checked()
        assert await page.get_by_test_id("input-takeaway").input_value() == "A clear agenda helps me."
        await screenshot(page, "playground-answer-prefilled")
    browser_requests.assert_only_local()
