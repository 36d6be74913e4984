"""The playground page in headless Chromium: a new user's first ritual, with nothing from outside."""

from __future__ import annotations

import pytest

from adapters.playground.platform import CHANNEL
from bot.server import REPO
from tests.fakes.browser import horizontal_overflow, low_contrast, playground_as, screenshot


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


# What a new user sees and does, in the team's language (Dutch as a teamleider writes it).
WORDS = {
    "en": {
        "welcome": "Welcome to the Ritme playground",
        "add": "/ritme add reflection every monday at 09:00",
        "added": "Ritual #1 added",
        "run": "/ritme run #1",
        "review": "/ritme review #1",
        "send": "Send",
        "answered": "Answered ✓ · change",
        "help": "Commands",
    },
    "nl": {
        "welcome": "Welkom in de Ritme-proeftuin",
        "add": "/ritme toevoegen reflectie elke maandag om 09:00",
        "added": "Ritueel #1 toegevoegd",
        "run": "/ritme start #1",
        "review": "/ritme terugblik #1",
        "send": "Verstuur",
        "answered": "Beantwoord ✓ · wijzigen",
        "help": "Opdrachten",
    },
}
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


async def looks_right(page, name: str) -> None:
    """A screenshot in tests/artifacts/, then: nothing sticks out to the side, every text reads
    at WCAG AA contrast, the whole placeholder fits its input and every person is in view."""
    await page.evaluate(SETTLED)
    await screenshot(page, name, full_page=False)
    overflow = await horizontal_overflow(page)
    assert overflow == [], (name, overflow)
    dim = await low_contrast(page)
    assert dim == [], (name, dim)
    assert await page.evaluate(PLACEHOLDER_FITS), f"{name}: the composer's placeholder is cut off"
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    for persona in ("anna", "bram", "chris", "dewi"):
        box = await page.get_by_test_id(f"persona-{persona}").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (name, persona, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, (name, persona, box)


# Colours ease over 0.12 s when the scheme or a state changes: the checks read the page once every
# running transition has ended (a style change is picked up at the next frame, hence the two waits).
SETTLED = """
async () => {
  for (let i = 0; i < 2; i++) await new Promise(requestAnimationFrame);
  await Promise.all(document.getAnimations().map(a => a.finished.catch(() => null)));
}
"""


# The placeholder's width in its own font, against the room inside the input.
PLACEHOLDER_FITS = """
() => {
  const input = document.getElementById('composer');
  const s = getComputedStyle(input, '::placeholder');
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = s.fontStyle + ' ' + s.fontWeight + ' ' + s.fontSize + ' ' + s.fontFamily;
  const own = getComputedStyle(input);
  const room = input.clientWidth - parseFloat(own.paddingLeft) - parseFloat(own.paddingRight);
  return input.placeholder.length > 0 && ctx.measureText(input.placeholder).width <= room;
}
"""


async def send(page) -> None:
    """Send what the input holds (as it is), and wait until the page may send again."""
    await page.get_by_test_id("send").click()
    await page.locator('[data-testid="send"]:enabled').wait_for()


async def answer_as(page, step_button: str, occurrence: str, text: str) -> None:
    await page.get_by_test_id(step_button).click()
    await page.get_by_test_id(f"answer-{occurrence}").click()
    await page.get_by_test_id("input-answer").fill(text)
    await page.get_by_test_id("submit-answer").click()
    await page.get_by_test_id("answer-dialog").wait_for(state="hidden")


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
@pytest.mark.parametrize("language", sorted(WORDS))
async def test_a_new_user_walks_the_welcome_cards_five_steps(
    sqlite_url: str, browser_page, browser_requests, language: str, viewport: str
) -> None:
    """A new channel opens with a welcome card in the team's language whose five steps a new
    user follows by their buttons alone: they pick a person or put a command in the input, and
    never send it; the page reads well at 1280×800 and on a phone, light and dark."""
    page, words = browser_page, WORDS[language]
    await page.set_viewport_size(VIEWPORTS[viewport])
    async with playground_as(sqlite_url, page, None, language=language):
        await page.get_by_text(words["welcome"]).wait_for()
        assert await page.locator("html").get_attribute("lang") == language
        assert (await page.get_by_test_id("send").inner_text()).strip() == words["send"]
        await looks_right(page, f"playground-{language}-{viewport}-welcome")

        composer = page.get_by_test_id("composer")
        await page.get_by_test_id("welcome-1-1").click()  # 1. pick a person: Anna, the admin
        await page.locator('[data-testid="persona-anna"][aria-pressed="true"]').wait_for()
        await page.get_by_test_id("welcome-2-1").click()  # 2. add a ritual: the command is put in the input
        assert await composer.input_value() == words["add"]
        assert await page.locator('[data-testid="message"]').count() == 0  # ... and not sent
        await send(page)
        await page.get_by_text(words["added"]).wait_for()
        await page.get_by_test_id("welcome-3-1").click()  # 3. run it now
        assert await composer.input_value() == words["run"]
        await send(page)
        prompt = page.locator('[data-testid="message"][data-type="prompt"]')
        await prompt.first.wait_for()
        occurrence = await prompt.first.get_attribute("data-occurrence")
        assert occurrence is not None
        await looks_right(page, f"playground-{language}-{viewport}-prompt")

        await answer_as(page, "welcome-4-1", occurrence, "Chris listened first.")  # 4. as Chris, then Dewi
        assert await page.locator('[data-testid="persona-chris"][aria-pressed="true"]').count() == 1
        await answer_as(page, "welcome-4-2", occurrence, "Dewi asked what I thought.")
        await page.get_by_test_id("welcome-5-1").click()  # 5. review: Dewi may not, so Bram continues
        await page.locator('[data-testid="persona-bram"][aria-pressed="true"]').wait_for()
        assert await composer.input_value() == words["review"]
        await send(page)
        await page.get_by_text("Chris: Chris listened first.").wait_for()
        await page.get_by_text("Dewi: Dewi asked what I thought.").wait_for()
        await looks_right(page, f"playground-{language}-{viewport}-review")

        await page.get_by_test_id("persona-dewi").click()
        await page.reload()  # the answered state comes from the server again
        button = page.locator(f'[data-testid="answer-{occurrence}"][data-answered="true"]')
        await button.wait_for()
        assert (await button.inner_text()).strip() == words["answered"]
        await button.click()
        await page.get_by_test_id("answer-dialog").wait_for()
        assert await page.get_by_test_id("input-answer").input_value() == "Dewi asked what I thought."
        await looks_right(page, f"playground-{language}-{viewport}-prefilled")
        await page.get_by_test_id("cancel-answer").click()

        await page.emulate_media(color_scheme="dark")
        await looks_right(page, f"playground-{language}-{viewport}-dark")
        await button.click()
        await page.get_by_test_id("answer-dialog").wait_for()
        await looks_right(page, f"playground-{language}-{viewport}-dark-dialog")
    browser_requests.assert_only_local()


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_chips_fill_the_input_with_what_the_person_may_run(
    sqlite_url: str, browser_page, browser_requests, viewport: str
) -> None:
    """Chips show only the commands the chosen person's role may run (the registry's ``needs``):
    an admin sees add and run, a leader run and review, a member neither; a chip puts its command
    in the input and sends nothing."""
    page = browser_page
    await page.set_viewport_size(VIEWPORTS[viewport])
    expected = {
        "anna": [
            "/ritme help",
            "/ritme list",
            "/ritme add reflection every monday at 09:00",
            "/ritme run #1",
            "/ritme review #1",
        ],
        "bram": ["/ritme help", "/ritme list", "/ritme run #1", "/ritme review #1"],
        "chris": ["/ritme help", "/ritme list"],
    }
    async with playground_as(sqlite_url, page, "anna"):
        for persona, chips in expected.items():
            await page.get_by_test_id(f"persona-{persona}").click()
            shown = page.locator('[data-testid="chip"]')
            await page.locator(f'[data-testid="chip"]:nth-child({len(chips)}):last-child').wait_for()
            assert [(await c.inner_text()).strip() for c in await shown.all()] == chips, persona
            await screenshot(page, f"playground-chips-{persona}-{viewport}", full_page=False)
            assert await horizontal_overflow(page) == [], persona
            assert await low_contrast(page) == [], persona
        await page.locator('[data-testid="chip"][data-command="/ritme list"]').click()
        assert await page.get_by_test_id("composer").input_value() == "/ritme list"
        assert await page.get_by_test_id("composer").evaluate("el => el === document.activeElement")
        assert await page.locator('[data-testid="message"]').count() == 0
    browser_requests.assert_only_local()


async def test_help_typed_without_ritme_is_understood(sqlite_url: str, browser_page, browser_requests) -> None:
    """``/help`` as other chat apps have it is ``/ritme help``; ``/list`` likewise; an unknown
    ``/word`` is answered with an example of a command that works."""
    page = browser_page
    async with playground_as(sqlite_url, page, "chris"):
        composer = page.get_by_test_id("composer")
        await composer.fill("/help")
        await send(page)
        await page.get_by_text("/ritme forget-me").first.wait_for()  # the help's lines
        await composer.fill("/dance")
        await send(page)
        await page.get_by_text("I don't know the command 'dance'.").wait_for()
        await page.get_by_text("For example: /ritme help").wait_for()
    browser_requests.assert_only_local()


async def test_the_language_switch_runs_the_language_command(sqlite_url: str, browser_page, browser_requests) -> None:
    """The header shows the team's language and switches it with the ``language`` command: the
    whole first screen follows. Only an admin may; a member is told so and nothing changes."""
    page = browser_page
    async with playground_as(sqlite_url, page, "chris", language="nl"):
        await page.get_by_text(WORDS["nl"]["welcome"]).wait_for()
        assert await page.get_by_test_id("language-nl").get_attribute("aria-pressed") == "true"
        assert await page.get_by_test_id("language-en").get_attribute("aria-disabled") == "true"
        # Playwright waits for an aria-disabled button to be enabled; a person clicks it and is told why not.
        await page.get_by_test_id("language-en").click(force=True)
        await page.get_by_text("Alleen een beheerder kan de taal van het team wijzigen.").wait_for()
        assert await page.locator('[data-testid="message"]').count() == 0

        await page.get_by_test_id("persona-anna").click()
        await page.get_by_test_id("language-en").click()
        await page.get_by_text(WORDS["en"]["welcome"]).wait_for()
        await page.locator('[data-testid="language-en"][aria-pressed="true"]').wait_for()
        assert await page.locator("html").get_attribute("lang") == "en"
        assert (await page.get_by_test_id("send").inner_text()).strip() == "Send"
        assert await page.get_by_test_id("composer").get_attribute("placeholder") == "Type a command, e.g. /ritme help"
        assert "/ritme add reflection every monday at 09:00" in [
            (await c.inner_text()).strip() for c in await page.locator('[data-testid="chip"]').all()
        ]
        await screenshot(page, "playground-language-switched", full_page=False)
    browser_requests.assert_only_local()
