"""Commands on the days without prompts: the team's holidays, a school calendar imported from an
``.ics`` file (in the channel or sent privately), and the public holidays of a country or of
one of its regions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.commands.formats import error_notice
from bot.commands.grammar import ADD, LIST, REMOVE, parse_period, period
from bot.commands.registry import Args, Command, CommandError, command
from rituals.calendar import holiday_region, regions_of
from rituals.i18n import N_, Translator, translator
from rituals.ports import TeamView
from rituals.school_calendar import MAX_DAYS, CalendarError, HolidayPeriod, read_calendar, school_years
from rituals.types import Actor, Notice

if TYPE_CHECKING:
    from bot.service import Ritme

HOLIDAY = ("holiday", "vakantie", "vrije-dag")
HOLIDAY_EXAMPLE = N_("holiday add 2026-12-21..2027-01-01 Christmas")


def _holiday_add(args: Args) -> dict[str, Any]:
    """A period, then its name (optional)."""
    start, end = parse_period(args.words[0] if args.words else None, HOLIDAY_EXAMPLE)
    return {"start": start, "end": end, "name": " ".join(args.words[1:])[:200]}


def _region(args: Args) -> dict[str, Any]:
    """A country (``NL``), a country and one of its regions (``GB-ENG``, ``DE-BY``), or none;
    checked against the regions the ``holidays`` package knows."""
    text = " ".join(args.words)
    if not text:
        raise CommandError(
            N_("Give a country code (NL, BE), a country and one of its regions (GB-ENG, DE-BY), or 'none'."),
            "holidays NL",
        )
    if text.casefold() in ("none", "geen"):
        return {"country": None}
    code = holiday_region(text)
    if code is not None:
        return {"country": code}
    country, dash, region = text.partition("-")
    regions = regions_of(country) if len(country) == 2 else ()
    if not dash or not holiday_region(country):
        raise CommandError(
            N_("I don't know the public holidays of '{country}'. Give a country code such as NL, BE or GB."),
            "holidays NL",
            country=text[:40],
        )
    if not regions:
        raise CommandError(
            N_("I know no regions of {country}; its public holidays are the same everywhere."),
            f"holidays {country.upper()}",
            country=country.upper(),
        )
    raise CommandError(
        N_("{country} has no region '{region}' that I know. Its regions: {regions}."),
        f"holidays {country.upper()}-{regions[0]}",
        country=country.upper(),
        region=region[:40],
        regions=", ".join(regions),
    )


@command(
    "holiday add",
    words=(HOLIDAY, ADD),
    needs="admin",
    args=_holiday_add,
    usage=(N_("Use 'holiday add', 'holiday list' or 'holiday remove'."), HOLIDAY_EXAMPLE),
    help=(HOLIDAY_EXAMPLE, N_("no prompts in this period")),
)
async def do_holiday_add(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    a, b, name = cmd.args["start"], cmd.args["end"], cmd.args["name"]
    if (b - a).days > MAX_DAYS:
        raise CommandError("A holiday period is at most a year long.", "holiday add 2026-12-21..2027-01-01")
    added = await ritme.repo.add_holiday(team.id, a, b, name)
    if added:
        await ritme.repo.audit(
            team.id, member_id, "holiday.add", {"start": a.isoformat(), "end": b.isoformat()}, ritme.clock()
        )
    return Notice(
        title=_("Holiday added") if added else _("Already there"),
        text=_("No prompts from {start} to {end}.", start=_.day(a, year=True), end=_.day(b, year=True)),
    )


@command(
    "holiday list",
    words=(HOLIDAY, LIST),
    needs="admin",
    bare=True,
    help=(N_("holiday list"), N_("the holidays, and whether public holidays are skipped")),
)
async def do_holiday_list(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    rows = await ritme.repo.holidays(team.id)
    country = team.holiday_country
    footer = (
        _("Public holidays of {country} are skipped too.", country=country)
        if country
        else _("Public holidays are not skipped.")
    )
    if not rows:
        return Notice(title=_("Holidays"), text=_("No holidays added yet."), footer=footer)
    return Notice(
        title=_("Holidays"),
        text="",
        fields=tuple((f"{a.isoformat()}..{b.isoformat()}", n or _("holiday")) for a, b, n in rows),
        footer=footer,
    )


@command(
    "holiday remove",
    words=(HOLIDAY, REMOVE),
    needs="admin",
    args=period("holiday remove 2026-12-21..2027-01-01"),
    help=(N_("holiday remove 2026-12-21..2027-01-01"), N_("take a holiday out")),
)
async def do_holiday_remove(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    a, b = cmd.args["start"], cmd.args["end"]
    removed = await ritme.repo.remove_holiday(team.id, a, b)
    if not removed:
        raise CommandError(
            "There is no holiday from {start} to {end}. See /ritme holiday list.",
            "holiday list",
            start=a.isoformat(),
            end=b.isoformat(),
        )
    await ritme.repo.audit(
        team.id, member_id, "holiday.remove", {"start": a.isoformat(), "end": b.isoformat()}, ritme.clock()
    )
    return Notice(title=_("Holiday removed"), text=f"{a.isoformat()}..{b.isoformat()}")


async def personal_holiday_import(
    ritme: Ritme, actor: Actor, cmd: Command, teams: list[tuple[TeamView, int]], _: Translator
) -> Notice | None:
    """A calendar sent privately: for the one team this person runs."""
    admin_of = [
        (team, member_id) for team, member_id in teams if await ritme.role_of(actor, team, member_id) == "admin"
    ]
    if len(admin_of) == 1:
        team, member_id = admin_of[0]
        _ = translator(team.language)
        try:
            done = await do_holiday_import(ritme, cmd, team, member_id, "admin", _)
        except CommandError as err:
            return error_notice(_, _(err.msgid, **err.params), err.example, err.example_params)
        return Notice(
            title=done.title,
            text=done.text,
            fields=done.fields,
            footer=" ".join(filter(None, (done.footer, _("For the team {team}.", team=team.name or team.channel_id)))),
        )
    if not admin_of:
        return Notice(title=_("Not allowed"), text=_("Only an admin of this team can do that."))
    return None


@command(
    "holiday import",
    words=(HOLIDAY, ("import", "importeer")),
    needs="admin",
    personal=personal_holiday_import,
    help=(N_("holiday import"), N_("with an .ics file attached: the school holidays of a calendar")),
)
async def do_holiday_import(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    files = [f for f in cmd.args.get("files", ()) if f[0].lower().endswith(".ics")]
    if not files:
        raise CommandError(
            N_("Attach an iCalendar file (.ics) with the school holidays to the command."), "holiday import"
        )
    years = school_years(ritme.clock().astimezone(ZoneInfo(team.timezone)).date())
    periods: list[HolidayPeriod] = []
    for name, content in files:  # every file read before anything is stored
        try:
            periods += read_calendar(content, tz=ZoneInfo(team.timezone), years=years)
        except CalendarError as err:
            raise CommandError(
                N_("{file}: {reason}"), "holiday import", file=name[:60], reason=_(err.msgid, **err.params)
            ) from None
    added = 0
    for holiday in periods:
        added += await ritme.repo.add_holiday(team.id, holiday.first, holiday.last, holiday.name, source="ics")
    await ritme.repo.audit(team.id, member_id, "holiday.import", {"added": added}, ritme.clock())
    span = {"start": years[0].isoformat(), "end": years[1].isoformat()}
    if not added:
        return Notice(
            title=_("Holidays imported"),
            text=_("Nothing new: every period in the calendar was there already."),
            footer=_("Repeating events counted from {start} to {end}: this school year and the next.", **span),
        )
    return Notice(
        title=_("Holidays imported"),
        text=_("{count} holiday periods added; no prompts on those days.", count=added),
        footer=_("Repeating events counted from {start} to {end}: this school year and the next.", **span),
    )


@command(
    "holidays",
    words=(("holidays", "feestdagen"),),
    needs="admin",
    args=_region,
    help=(
        (N_("holidays NL"), N_("skip the public holidays of a country")),
        (N_("holidays DE-BY"), N_("or those of one region of a country: GB-ENG, DE-BY, ...")),
    ),
)
async def do_holidays(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    country = cmd.args["country"]
    await ritme.repo.update_team(team.id, holiday_country=country)
    await ritme.repo.audit(team.id, member_id, "team.holidays", {"country": country}, ritme.clock())
    if country is None:
        return Notice(title=_("Public holidays"), text=_("Public holidays are not skipped."))
    return Notice(title=_("Public holidays"), text=_("Public holidays of {country} are skipped too.", country=country))
