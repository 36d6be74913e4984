"""Commands on a channel's rituals: list, add, pause, resume, remove, run, close, and the action
a team agreed after one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.commands.formats import describe_schedule, describe_visibility, format_duration, format_time
from bot.commands.grammar import ADD, parse_id
from bot.commands.registry import ArgParser, Args, Command, CommandError, command
from rituals.i18n import N_, Translator, Words
from rituals.kinds import KINDS
from rituals.ports import RitualView, TeamView
from rituals.schedule import Schedule, ScheduleError, parse_schedule
from rituals.types import Notice
from rituals.visibility import NAMES, Visibility, default_visibility, parse_visibility

if TYPE_CHECKING:
    from bot.service import Ritme

KIND_WORDS = {
    "goal": "goal",
    "doel": "goal",
    "reflection": "reflection",
    "reflectie": "reflection",
    "checkout": "checkout",
    "check-out": "checkout",
    "afsluiting": "checkout",
    "pulse": "pulse",
    "puls": "pulse",
    "pulse-check": "pulse",
    "teampuls": "pulse",
    "appreciation": "appreciation",
    "waardering": "appreciation",
    "waarderingsronde": "appreciation",
    "values": "values",
    "waarden": "values",
    "pairs": "pairs",
    "duos": "pairs",
    "duo's": "pairs",
    "tweetallen": "pairs",
    "digest": "digest",
    "weekoverzicht": "digest",
    "overzicht": "digest",
}
# The kinds by the word that adds them, in the team's language (``add reflectie ...``).
KIND_WORDS_SHOWN = {
    "goal": N_("goal"),
    "reflection": N_("reflection"),
    "checkout": N_("checkout"),
    "pulse": N_("pulse"),
    "appreciation": N_("appreciation"),
    "values": N_("values"),
    "pairs": N_("pairs"),
    "digest": N_("digest"),
}
KIND_CHOICES = Words((*KIND_WORDS_SHOWN.values(), N_("pulse-short")))  # what ``add`` takes, as the team says it
# Words for a kind with options of its own: the short pulse is a pulse that asks three items.
VARIANT_WORDS: dict[str, tuple[str, dict[str, Any]]] = {
    word: ("pulse", {"variant": "short"}) for word in ("pulse-short", "short-pulse", "korte-teampuls", "korte-puls")
}


def _add(args: Args) -> dict[str, Any]:
    """``KIND SCHEDULE``: the kind by any of its words, the schedule as typed."""
    example = N_("add reflection every monday at 09:00")
    kind_word, _, schedule = args.text.partition(" ")
    if not kind_word:
        raise CommandError(N_("Which kind of ritual? One of: {kinds}."), example, kinds=KIND_CHOICES)
    kind, options = VARIANT_WORDS.get(kind_word.lower(), (KIND_WORDS.get(kind_word.lower()), {}))
    if kind is None:
        raise CommandError(
            N_("'{word}' is not a kind of ritual. Choose one of: {kinds}."),
            example,
            word=kind_word[:40],
            kinds=KIND_CHOICES,
        )
    head, _space, last = schedule.strip().rpartition(" ")
    visibility = parse_visibility(last) if head else None  # a last word: who reads the answers
    if visibility is not None:
        schedule = head
    if not schedule.strip():
        raise CommandError(N_("When should it run? Add a schedule."), f"add {kind} every monday at 09:00")
    return (
        {"kind": kind, "schedule": schedule.strip()}
        | ({"visibility": visibility} if visibility else {})
        | ({"options": options} if options else {})
    )


def one_ritual(verb: str) -> ArgParser:
    """``N`` or ``#N``, and nothing more."""

    def parse(args: Args) -> dict[str, Any]:
        if len(args.words) > 1:
            raise CommandError(N_("One ritual at a time: give one number."), f"{verb} #1")
        return {"id": parse_id(args.first or None, f"{verb} #1")}

    return parse


ACTION_EXAMPLE = N_("action add #1 We start every meeting with the goal")


def _action(args: Args) -> dict[str, Any]:
    """``#N TEXT``: the text as typed after the ritual's number."""
    if len(args.words) < 2:
        raise CommandError(N_("Use 'action add #N TEXT': what the team agreed after ritual #N."), ACTION_EXAMPLE)
    ritual = parse_id(args.words[0], ACTION_EXAMPLE)
    text_start = args.text.find(args.words[0]) + len(args.words[0])
    action = args.text[text_start:].strip()
    if len(action) > 500:
        raise CommandError(N_("Keep the action short (at most 500 characters)."), ACTION_EXAMPLE)
    return {"id": ritual, "text": action}


async def ritual_of(ritme: Ritme, cmd: Command, team: TeamView) -> RitualView:
    """The ritual ``cmd`` names, in this team; the command is refused when there is none."""
    ritual = await ritme.repo.ritual_in_team(team.id, cmd.args["id"])
    if ritual is None:
        raise CommandError("There is no ritual #{id} in this channel. See /ritme list.", "list", id=cmd.args["id"])
    return ritual


ADD_EXAMPLE = N_("add {kind} {schedule}")


def schedule_refused(err: ScheduleError, kind: str) -> CommandError:
    """A schedule that does not parse, with an example of one that does for the same kind,
    all of it in the team's language."""
    example = {"kind": Words((KIND_WORDS_SHOWN.get(kind, kind),)), "schedule": Words((err.example,))}
    return CommandError(err.msgid, ADD_EXAMPLE, example_params=example, **err.params)


def _schedule(ritme: Ritme, text: str, kind: str, tz: ZoneInfo) -> Schedule:
    try:  # 'every 2 weeks' counts from the team's today, not the server's
        return parse_schedule(text, anchor=ritme.clock().astimezone(tz).date())
    except ScheduleError as err:
        raise schedule_refused(err, kind) from None


@command(
    "list",
    words=(("list", "lijst", "ls"),),
    help=(N_("list"), N_("the rituals of this channel")),
    menu=N_("The rituals of this channel"),
)
async def do_list(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    rituals = await ritme.repo.rituals(team.id)
    if not rituals:
        return Notice(
            title=_("Rituals"),
            text=_(
                "This channel has no rituals yet. An admin adds one, e.g. /ritme add reflection every monday at 09:00"
            ),
        )
    tz = ZoneInfo(team.timezone)
    open_by = await ritme.repo.open_occurrences([r.id for r in rituals])
    skipped = await ritme.repo.last_skipped([r.id for r in rituals])
    fields = []
    for r in rituals:
        kind = KINDS[r.kind]
        when = describe_schedule(r.schedule, _)
        parts = [when]
        if not kind.digest:
            level = Visibility(r.visibility) if r.visibility else default_visibility(kind)
            parts.append(_("who reads: {level}", level=_(NAMES[level])))
        if r.paused:
            parts.append(_("paused"))
        elif r.next_due_at:
            parts.append(_("next: {when}", when=format_time(r.next_due_at, tz, _)))
        for occ in open_by.get(r.id, []):
            if occ.closes_at:
                parts.append(_("open until {when}", when=format_time(occ.closes_at, tz, _)))
        if r.id in skipped:
            occ = skipped[r.id]
            parts.append(
                _(
                    "skipped {day} ({reason})",
                    day=_.day(occ.planned_at.astimezone(tz).date()),
                    reason=occ.reason or "",
                )
            )
        fields.append((f"#{r.id} {kind.title(_)}", " · ".join(parts)))
    return Notice(title=_("Rituals"), text="", fields=tuple(fields), footer=_("Times in {tz}", tz=team.timezone))


@command(
    "add",
    words=(("add", "toevoegen", "nieuw"),),
    needs="admin",
    args=_add,
    roster=True,
    menu=N_("Add a ritual, e.g. add reflection every monday at 09:00"),
    help=(
        (N_("add reflection every monday at 09:00"), N_("a weekly reflection question")),
        (N_("add checkout every 2 weeks on wednesday at 16:30"), N_("a check-out at the end of the team meeting")),
        (N_("add pulse every 2 weeks on friday at 15:00 open 2d"), N_("an anonymous team-climate pulse")),
        (
            N_("add reflection every monday at 09:00 anonymous"),
            N_("a last word says who reads the answers: team, leaders or anonymous"),
        ),
        (
            N_("add pulse-short every month on the first friday at 15:00"),
            N_("a short monthly pulse: three of the seven statements"),
        ),
        (N_("add goal every month on the first tuesday at 09:00"), N_("a monthly look at the goal")),
        (
            N_("add values every month on day 1 at 09:00"),
            N_("each member picks the three values that guide their work"),
        ),
        (N_("add pairs every month on the first monday at 09:00"), N_("pairs for collegial consultation")),
        (N_("add digest every friday at 15:00"), N_("a weekly look back at the results, in the channel")),
        (N_("add reflection elke maandag om 09:00"), N_("Dutch works too")),
    ),
)
async def do_add(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    kind = cmd.args["kind"]
    if kind not in KINDS:
        raise CommandError(
            "The '{kind}' ritual is not available in this version. Choose one of: {kinds}.",
            N_("add reflection every monday at 09:00"),
            kind=kind,
            kinds=KIND_CHOICES,
        )
    visibility = cmd.args.get("visibility")
    if visibility is not None and KINDS[kind].fixed_visibility:
        raise CommandError(
            N_("Who reads the answers of a {kind} is fixed; leave out '{word}'."),
            N_("add reflection every monday at 09:00 anonymous"),
            kind=KINDS[kind].title(_),
            word=_(NAMES[visibility]),
        )
    tz = ZoneInfo(team.timezone)
    schedule = _schedule(ritme, cmd.args["schedule"], kind, tz)
    now = ritme.clock()
    open_for = schedule.open_for or KINDS[kind].default_open
    next_due = schedule.next_after(now, tz)
    ritual_id = await ritme.repo.add_ritual(
        team_id=team.id,
        kind=kind,
        schedule=schedule.spec,
        open_seconds=int(open_for.total_seconds()),
        options=dict(cmd.args.get("options") or {}),
        next_due_at=next_due,
        now=now,
        visibility=visibility.value if visibility else None,
    )
    detail = {"ritual": ritual_id, "kind": kind, "schedule": schedule.spec}
    await ritme.repo.audit(
        team.id, member_id, "ritual.add", detail | ({"visibility": visibility.value} if visibility else {}), now
    )
    when = format_time(next_due, tz, _) if next_due else "-"
    said = {"kind": KINDS[kind].title(_), "schedule": schedule.describe(_), "when": when}
    if KINDS[kind].digest:  # asks nothing
        text = _("{kind}, {schedule}. First post: {when}.", **said)
    elif schedule.open_for:  # the schedule's description says how long already
        text = _("{kind}, {schedule}. First prompt: {when}.", **said)
    else:
        text = _(
            "{kind}, {schedule}. First prompt: {when}. Answers are taken for {open}.",
            **said,
            open=format_duration(open_for, _),
        )
    if not KINDS[kind].digest:
        text += "\n" + describe_visibility(kind, visibility.value if visibility else None, ritual_id, _)
    return Notice(
        title=_("Ritual #{id} added", id=ritual_id),
        text=text,
        footer=_("Send it now with /ritme run #{id}", id=ritual_id),
    )


@command(
    "pause",
    words=(("pause", "pauzeer", "pauze"),),
    needs="admin",
    args=one_ritual("pause"),
    help=(N_("pause #1"), N_("pause a ritual")),
)
async def do_pause(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    ritual = await ritual_of(ritme, cmd, team)
    if ritual.paused:
        return Notice(
            title=_("Ritual #{id} is paused already", id=ritual.id),
            text=_("Resume it with /ritme resume #{id}", id=ritual.id),
        )
    await ritme.repo.set_ritual(ritual.id, paused=True)
    await ritme.repo.audit(team.id, member_id, "ritual.pause", {"ritual": ritual.id}, ritme.clock())
    return Notice(
        title=_("Ritual #{id} paused", id=ritual.id), text=_("Resume it with /ritme resume #{id}", id=ritual.id)
    )


@command(
    "resume",
    words=(("resume", "hervat"),),
    needs="admin",
    args=one_ritual("resume"),
    help=(N_("resume #1"), N_("resume a paused ritual")),
)
async def do_resume(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    ritual = await ritual_of(ritme, cmd, team)
    now = ritme.clock()
    tz = ZoneInfo(team.timezone)
    try:
        next_due = parse_schedule(ritual.schedule).next_after(now, tz) if ritual.schedule else None
    except ScheduleError as err:  # stored before a stricter reader: it stays paused
        raise schedule_refused(err, ritual.kind) from None
    await ritme.repo.set_ritual(ritual.id, paused=False, next_due_at=next_due)
    await ritme.repo.audit(team.id, member_id, "ritual.resume", {"ritual": ritual.id}, now)
    when = format_time(next_due, tz, _) if next_due else "-"
    return Notice(title=_("Ritual #{id} resumed", id=ritual.id), text=_("Next prompt: {when}", when=when))


@command(
    "remove",
    words=(("remove", "verwijder", "delete"),),
    needs="admin",
    args=one_ritual("remove"),
    help=(N_("remove #1"), N_("remove a ritual, with its prompts and answers")),
)
async def do_remove(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    ritual = await ritual_of(ritme, cmd, team)
    await ritme.repo.remove_ritual(ritual.id)
    await ritme.repo.audit(
        team.id, member_id, "ritual.remove", {"ritual": ritual.id, "kind": ritual.kind}, ritme.clock()
    )
    return Notice(title=_("Ritual #{id} removed", id=ritual.id), text=_("Its prompts and answers are removed too."))


@command(
    "run",
    words=(("run", "nu", "start"),),
    needs="leader",
    args=one_ritual("run"),
    roster=True,
    help=(N_("run #1"), N_("send a ritual's prompt now")),
    menu=N_("Send a ritual's prompt now, e.g. run #1"),
)
async def do_run(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    ritual = await ritual_of(ritme, cmd, team)
    occ = await ritme.engine.run_now(ritual.id)
    if occ is not None:
        return Notice(title=_("Ritual #{id} sent", id=ritual.id), text=_("The prompt is on its way to the channel."))
    still_open = (await ritme.repo.open_occurrences([ritual.id])).get(ritual.id)
    if not still_open:
        return Notice(title=_("Not sent"), text=_("Ritual #{id} was sent a moment ago already.", id=ritual.id))
    closes = min((o.closes_at for o in still_open if o.closes_at), default=None)
    return Notice(
        title=_("Ritual #{id} is still open", id=ritual.id),
        text=_(
            "Its round is open until {when}; a second round is not sent while it is.",
            when=format_time(closes, ZoneInfo(team.timezone), _) if closes else "-",
        ),
        footer=_(
            "Close it now with /ritme close #{id}, or remind who has not answered with /ritme remind #{id}.",
            id=ritual.id,
        ),
    )


@command(
    "remind",
    words=(("remind", "herinner", "herinnering"),),
    needs="leader",
    args=one_ritual("remind"),
    help=(N_("remind #1"), N_("remind who has not answered the open round, privately, now")),
)
async def do_remind(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    ritual = await ritual_of(ritme, cmd, team)
    reminded = await ritme.engine.remind_now(ritual.id)
    if reminded is None:
        return Notice(
            title=_("Nothing to remind"),
            text=_("Ritual #{id} has no open round.", id=ritual.id),
            footer=_("Send it now with /ritme run #{id}", id=ritual.id),
        )
    if not reminded:
        return Notice(
            title=_("Nobody to remind"),
            text=_("Everyone has answered #{id} already, or has muted reminders.", id=ritual.id),
        )
    return Notice(
        title=_("Reminder sent"),
        text=_("Not answered #{id} yet: {count}. Each got a private reminder.", id=ritual.id, count=reminded),
    )


@command(
    "close",
    words=(("close", "sluit"),),
    needs="leader",
    args=one_ritual("close"),
    help=(N_("close #1"), N_("close the open round and post its results")),
    menu=N_("Close a ritual's open round and post its results"),
)
async def do_close(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    ritual = await ritual_of(ritme, cmd, team)
    closed = await ritme.engine.close_now(ritual.id)
    if not closed:
        return Notice(title=_("Nothing to close"), text=_("Ritual #{id} has no open round.", id=ritual.id))
    return Notice(title=_("Ritual #{id} closed", id=ritual.id), text=_("The results are posted in the channel."))


@command(
    "action add",
    words=(("action", "actie"), ADD),
    needs="leader",
    args=_action,
    usage=(N_("Use 'action add #N TEXT': what the team agreed after ritual #N."), ACTION_EXAMPLE),
    help=(ACTION_EXAMPLE, N_("record what the team agreed; the next round asks how it went")),
)
async def do_action_add(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    ritual = await ritual_of(ritme, cmd, team)
    _action, replaced = await ritme.repo.add_action(
        ritual_id=ritual.id, text=cmd.args["text"], member_id=member_id, now=ritme.clock()
    )
    await ritme.repo.audit(
        team.id, member_id, "action.add", {"ritual": ritual.id, "text": cmd.args["text"]}, ritme.clock()
    )
    footer = _("It replaces the earlier agreement, not asked about yet: {text}", text=replaced) if replaced else ""
    return Notice(
        title=_("Action recorded"),
        text=_("The next round of #{id} first asks how it went: {text}", id=ritual.id, text=cmd.args["text"]),
        footer=footer,
    )


FIRST_EXAMPLE = N_("first #1 What I am proud of this year: how we started reading together in the mornings")


def _first(args: Args) -> dict[str, Any]:
    """``#N TEXT``: the teamleider's own answer, as typed after the ritual's number."""
    if len(args.words) < 2:
        raise CommandError(
            N_("Use 'first #N TEXT': your own answer, which the next round of #N opens with."), FIRST_EXAMPLE
        )
    ritual = parse_id(args.words[0], FIRST_EXAMPLE)
    text = args.text[args.text.find(args.words[0]) + len(args.words[0]) :].strip()
    if len(text) > 500:
        raise CommandError(N_("Keep your answer short (at most 500 characters)."), FIRST_EXAMPLE)
    return {"id": ritual, "text": text}


@command(
    "first",
    words=(("first", "eerst"),),
    needs="leader",
    args=_first,
    help=(FIRST_EXAMPLE, N_("the teamleider goes first: the next round of #N opens with your answer")),
)
async def do_first(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    ritual = await ritual_of(ritme, cmd, team)
    name = next((n for mid, _user, n in await ritme.repo.team_members(team.id) if mid == member_id), "")
    mine = {"text": cmd.args["text"], "name": name, "member": member_id}  # the member: forget-me finds it
    first = {**team.settings.get("first", {}), str(ritual.id): mine}
    await ritme.repo.update_team(team.id, settings={**team.settings, "first": first})
    await ritme.repo.audit(team.id, member_id, "ritual.first", {"ritual": ritual.id}, ritme.clock())
    return Notice(
        title=_("You go first"),
        text=_(
            "The next round of #{id} opens with your answer, so the team sees it before answering: {text}",
            id=ritual.id,
            text=cmd.args["text"],
        ),
    )
