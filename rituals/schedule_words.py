"""The words and messages of schedules: vocabulary in English and Dutch, error messages and
examples, shared by the phrase grammar (``rituals.schedule_grammar``) and the schedules
themselves (``rituals.schedule``)."""

from __future__ import annotations

import enum
import re
from datetime import UTC, date, datetime

from rituals.i18n import N_

# --- Messages -------------------------------------------------------------------------------
# Error messages (English msgids; the catalogs in rituals/locale translate them).

E_EMPTY = N_("The schedule is empty.")
E_UNKNOWN = N_("Schedule not understood: {text}")
E_UNKNOWN_DAY = N_("Unknown day: {day}")
E_MISSING_DAY = N_("The schedule needs a day of the week.")
E_BAD_TIME = N_("{time} is not a valid time of day.")
E_MISSING_TIME = N_("The schedule needs a time of day.")
E_BAD_DATE = N_("{date} is not a valid date.")
E_BAD_MONTH_DAY = N_("A month has no day {day}.")
E_BAD_WEEKS = N_("The number of weeks must be between 1 and 52.")
E_BAD_CRON = N_("Invalid cron expression: {expr}")
E_CRON_NEVER = N_("This cron expression never fires: {expr}")
E_CRON_BOTH_DAYS = N_("In cron, give a day of the month or a day of the week, not both.")
E_CRON_MINUTE = N_("In cron, the minute is 0-59, not {value}.")
E_CRON_HOUR = N_("In cron, the hour is 0-23, not {value}.")
E_CRON_DAY = N_("In cron, the day of the month is 1-31, not {value}.")
E_CRON_MONTH = N_("In cron, the month is 1-12 or jan-dec, not {value}.")
E_CRON_WEEKDAY = N_("In cron, the day of the week is 0-7 or sun-sat, not {value}.")
E_CRON_BACKWARDS = N_("In cron, the range {range} runs backwards: write the lower value first.")
E_CRON_STEP = N_("In cron, the step in {item} must be a whole number from 1.")
E_CRON_BARE_STEP = N_("Cron systems read {item} in different ways; write the range in full, such as {fix}.")
E_MISSING_DURATION = N_("After open, give a duration such as 2d.")
E_BAD_DURATION = N_("Unknown duration: {text}")
E_SHORT_DURATION = N_("A duration must be at least one minute.")
E_LONG_DURATION = N_("A duration can be at most 365 days.")

# Examples shown with an error: phrases that parse, in each language (a test reads both).
EXAMPLE_WEEKLY = N_("every monday at 09:00")
EXAMPLE_BIWEEKLY = N_("every 2 weeks on friday at 15:00")
EXAMPLE_MONTHLY = N_("every month on the first tuesday at 09:00")
EXAMPLE_CRON = N_('cron "0 9 * * 1"')
EXAMPLE_OPEN = N_("every monday at 09:00 open 2d")

# Words in descriptions.
_DAY_NAMES = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
_ORDINAL_NAMES = {
    1: N_("first"),
    2: N_("second"),
    3: N_("third"),
    4: N_("fourth"),
    -1: N_("last"),
}
_DURATION_UNITS = (
    # (minutes per unit, spec suffix, singular msgid, plural msgid)
    (7 * 24 * 60, "w", N_("1 week"), N_("{n} weeks")),
    (24 * 60, "d", N_("1 day"), N_("{n} days")),
    (60, "h", N_("1 hour"), N_("{n} hours")),
    (1, "m", N_("1 minute"), N_("{n} minutes")),
)

# --- Vocabulary -----------------------------------------------------------------------------

_SPEC_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # APScheduler: 0 = Monday
_SPEC_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_CRON_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", -1: "last"}

_WEEKDAYS: dict[str, int] = {}
for _index, _names in enumerate(
    (
        ("monday", "mon", "maandag", "ma"),
        ("tuesday", "tue", "tues", "dinsdag", "di"),
        ("wednesday", "wed", "woensdag", "wo"),
        ("thursday", "thu", "thur", "thurs", "donderdag", "do"),
        ("friday", "fri", "vrijdag", "vr"),
        ("saturday", "sat", "zaterdag", "za"),
        ("sunday", "sun", "zondag", "zo"),
    )
):
    for _name in _names:
        _WEEKDAYS[_name] = _index

ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)
WORKDAYS = (0, 1, 2, 3, 4)
_DAY_GROUPS = {
    "day": ALL_DAYS,
    "dag": ALL_DAYS,
    "weekday": WORKDAYS,
    "werkdag": WORKDAYS,
    "workday": WORKDAYS,
    "weekend": (5, 6),
    "weekenddag": (5, 6),
}

_EVERY = {"every", "each", "elke", "elk", "iedere", "ieder"}
_AND = {"and", "en", "&", "+"}
_ON = {"on", "op"}
_THE = {"the", "de"}
_AT = {"at", "om", "@"}
_FROM = {"from", "vanaf", "starting", "beginning"}
_OF = {"of", "van"}
_MONTH = {"month", "maand"}
_WEEK = {"week", "weeks", "weken"}
_NUMBER_WORDS = {
    "one": 1, "een": 1, "two": 2, "twee": 2, "three": 3, "drie": 3,
    "four": 4, "vier": 4, "five": 5, "vijf": 5, "six": 6, "zes": 6,
}  # fmt: skip
_OTHER = {"other", "second", "2nd", "andere", "tweede", "2e", "2de"}  # "every other week"
_NTH: dict[str, int] = {}
for _value, _names in (
    (1, ("first", "1st", "eerste", "1e", "1ste")),
    (2, ("second", "2nd", "tweede", "2e", "2de")),
    (3, ("third", "3rd", "derde", "3e", "3de")),
    (4, ("fourth", "4th", "vierde", "4e", "4de")),
    (-1, ("last", "laatste")),
):
    for _name in _names:
        _NTH[_name] = _value

_TIME = re.compile(r"([0-9]{1,4})(?:[:.hu]([0-9]{1,4}))?(am|pm|u|h)?")
_TIME_SUFFIX = {"uur", "u", "h", "am", "pm", "a.m.", "p.m."}
_MONTH_DAY = re.compile(r"([0-9]{1,4})(?:st|nd|rd|th|e|de|ste)?")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_DUTCH_DATE = re.compile(r"([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})")
_CRON = re.compile(r"cron(?:\s*([\"'“”‘’„`])(.*?)([\"'“”‘’„`])|\s*(.*))")

_DURATION_WORDS = {**_NUMBER_WORDS, "a": 1, "an": 1, "seven": 7, "zeven": 7}
_DURATION_UNIT_MINUTES: dict[str, int] = {}
for _minutes, _names in (
    (7 * 24 * 60, ("w", "wk", "wks", "week", "weeks", "weken")),
    (24 * 60, ("d", "day", "days", "dag", "dagen")),
    (60, ("h", "hr", "hrs", "hour", "hours", "u", "uur", "uren")),
    (1, ("m", "min", "mins", "minute", "minutes", "minuut", "minuten")),
):
    for _name in _names:
        _DURATION_UNIT_MINUTES[_name] = _minutes
_MAX_DURATION_MINUTES = 365 * 24 * 60

del _index, _names, _name, _value, _minutes

_MAX_WEEKS = 52
_FIRST_DATE = date(1970, 1, 1)
_LAST_DATE = date(9000, 12, 31)
_CRON_CHECK_FROM = datetime(2000, 1, 1, tzinfo=UTC)
_MAX_CANDIDATES = 100_000


# --- Errors ---------------------------------------------------------------------------------


class ScheduleError(ValueError):
    """A schedule phrase or duration that cannot be used, explained for the person who typed it.

    ``msgid`` is an English message marked with ``N_``; translate it with
    ``_(error.msgid, **error.params)``. ``example`` is a phrase that does parse, to show next
    to the message (a message id: ``_(error.example)`` in the person's language). ``str(error)`` is the English message.
    """

    msgid: str
    params: dict[str, object]
    example: str

    def __init__(self, msgid: str, /, *, example: str = EXAMPLE_WEEKLY, **params: object) -> None:
        super().__init__(msgid.format(**params) if params else msgid)
        self.msgid = msgid
        self.params = params
        self.example = example


def _quote(text: str, limit: int = 40) -> str:
    """User text as it goes into an error message: short enough to show."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ScheduleKind(enum.StrEnum):
    WEEKLY = "weekly"  # on some weekdays, every week or every N weeks
    MONTHLY = "monthly"  # on a day of the month, or the first..fourth/last weekday
    CRON = "cron"  # a five-field crontab expression
