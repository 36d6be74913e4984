"""The ritual library: every question, statement and label the rituals put to a team.

What: the reflection themes with their weekly questions and meeting follow-ups, the anonymous
team-climate pulse, the meeting check-out, the goal questions, the appreciation round, the
pedagogical values a member can pick, the prompts for pairs in collegial consultation, and the
labels of the 1..5 agree scale.

Why: a ritual only keeps a team learning when its questions are good ones, concrete, about
this week or this period, and open rather than yes/no, so they live here in one place, written
once and reviewed as a whole, instead of scattered over the ritual kinds. The ideas come from
the project's source documents on teamwork in school teams (psychological safety, a shared
goal, interdependence, learning together, meetings that teach, a yearly rhythm, values,
differences, ownership, work happiness); the wording is our own.

Every text is an English message id marked with ``N_``; the translations live in the
``library`` gettext domain (``rituals/locale/<lang>/LC_MESSAGES/library.po``) and are looked up
with :func:`rituals.i18n.translator` at the moment a prompt is built. Keys (theme keys,
statement keys, value keys) are stable English slugs: they are stored in the database and must
never change once released.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rituals.i18n import N_

__all__ = [
    "APPRECIATION",
    "CHECKOUT",
    "CORE_VALUES",
    "END_OF_YEAR_QUESTIONS",
    "KICKOFF_QUESTIONS",
    "LEARNING_GOAL",
    "MIDYEAR_QUESTION",
    "PERIOD_END_QUESTION",
    "PERIOD_END_THEME_QUESTION",
    "PERIOD_GOAL_QUESTIONS",
    "REQUIRES",
    "VALUE_QUESTIONS",
    "VALUE_QUESTION_WITHOUT_MEANING",
    "GOAL_QUESTIONS",
    "PAIRS_PROMPTS",
    "EARLIER_PULSE_STATEMENTS",
    "PULSE_STATEMENTS",
    "SHORT_PULSE",
    "QUARTERLY_GOAL_QUESTIONS",
    "SCALE_LABELS",
    "SENSITIVE",
    "THEMES",
    "THEME_ALIASES",
    "VALUES",
    "Appreciation",
    "Checkout",
    "ScaleLabels",
    "Statement",
    "Theme",
    "Value",
    "discussion_questions",
    "find_theme",
    "find_value",
    "reflection_questions",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class Theme:
    """A theme of team learning: questions to answer in writing, then talk about together.

    ``questions`` are answered individually in two to five minutes; ``discussion`` holds short
    questions for the next team meeting, about the answers that came in.
    """

    key: str
    name: str
    description: str
    questions: tuple[str, ...]
    discussion: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Statement:
    """One statement of the anonymous team-climate pulse, answered on the 1..5 agree scale;
    ``reverse``: agreeing means less safety, so the scale counts it as 6 - answer."""

    key: str
    text: str
    reverse: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Checkout:
    """The meeting check-out: a 1..5 score and what each member takes away."""

    score_question: str
    low_label: str
    high_label: str
    takeaway_question: str
    improvement_question: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Appreciation:
    """The appreciation round: ``prompt`` names a colleague through ``{colleague}``."""

    prompt: str
    free_prompt: str
    starters: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Value:
    """A pedagogical or professional value a member can pick in a value scan."""

    key: str
    name: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ScaleLabels:
    """Labels of the 1..5 agree scale: ``labels[0]`` belongs to 1, ``labels[4]`` to 5."""

    labels: tuple[str, ...]
    low_label: str
    high_label: str

    def label(self, score: int) -> str:
        """The label of one score from 1 to 5."""
        if not 1 <= score <= len(self.labels):
            raise ValueError(f"score out of range: {score}")
        return self.labels[score - 1]


# --- Themes -------------------------------------------------------------------------------

_THEMES: tuple[Theme, ...] = (
    Theme(
        key="safety",
        name=N_("Psychological safety"),
        description=N_(
            "Everyone dares to ask questions, share doubts and admit mistakes without fear of being judged."
        ),
        # In the order a period goes deeper: what others did, then what we do, then our own doubts.
        questions=(
            N_("What did a colleague do this week that made you feel you could be honest?"),
            N_("Which colleague did you ask for help this week, and what made that easy or hard?"),
            N_(
                "In which conversation this week did you notice that not everyone got a chance to speak? What happened?"
            ),
            N_("When did you hold back a question or an idea this week, and what would have made it easier to say it?"),
            N_(
                "How did you react the last time a colleague disagreed with you? What would you "
                "do the same way, and what differently?"
            ),
            N_("Describe a mistake you made recently. Whom did you tell, and how did they respond?"),
            N_("Which doubt about your work would you share with the team if it felt completely safe?"),
            N_("What is one small thing you can do next week to make it easier for others to speak up?"),
        ),
        discussion=(
            N_("What patterns do you see in the moments when people held back?"),
            N_("Which agreement would make it easier to speak your mind in our meetings?"),
            N_("How do we want to respond from now on when one of us makes a mistake?"),
        ),
    ),
    Theme(
        key="goal",
        name=N_("Shared goal"),
        description=N_("A concrete goal the whole team works towards and that guides everyday choices."),
        questions=(
            N_("What is our shared goal, in your own words and in one or two sentences?"),
            N_("Where did you see our goal reflected in your class this period?"),
            N_("Which choice did you make this week with our goal in mind?"),
            N_("Which task this week had little to do with our goal? What would happen if we let it go?"),
            N_("Which small success towards our goal deserves to be celebrated?"),
            N_("What is getting in the way of working on our goal at the moment?"),
            N_("What do our pupils notice of our goal? Describe a moment."),
            N_("What would help you to keep our goal in view during a busy week?"),
        ),
        discussion=(
            N_("What would make our goal sharper or more concrete?"),
            N_("Which success will we celebrate together, and how?"),
            N_("What will we stop doing so that we have more time for our goal?"),
        ),
    ),
    Theme(
        key="interdependence",
        name=N_("Interdependence"),
        description=N_("We need each other to reach our goal, and each person's work affects the work of the others."),
        questions=(
            N_("Whose work did you depend on this week, and how did that go?"),
            N_("Which part of your work this week made things easier or harder for a colleague?"),
            N_("What did you make or prepare together with a colleague this period?"),
            N_("Where did tasks overlap this week, or where did something fall through the cracks?"),
            N_("Which knowledge or experience of yours could a colleague use right now?"),
            N_("Which colleague would you like to work with more closely, and on what?"),
            N_("What did you hear from a colleague this week that changed how you work?"),
            N_("Which task do you carry alone now that would go better together?"),
        ),
        discussion=(
            N_("Where do we need each other most, and how do we make that visible?"),
            N_("Which tasks are left undone, and who picks them up?"),
            N_("What will we make together in the coming period?"),
        ),
    ),
    Theme(
        key="learning",
        name=N_("Learning together"),
        description=N_("Going beyond dividing tasks: looking at our teaching together and finding out what works."),
        questions=(
            N_("What did you learn from a colleague this week?"),
            N_("What did you try out in your lessons this week, and what did you notice?"),
            N_("Which question about your teaching would you like to explore with colleagues?"),
            N_("What feedback did you give or receive this week, and what did you do with it?"),
            N_("What worked well in your class this week that others could benefit from?"),
            N_("Which choice did you make in your lessons this week, and what did you base it on?"),
            N_("What would you like to see in a colleague's classroom, and why?"),
            N_("What has our team learned this period that we did not know before?"),
        ),
        discussion=(
            N_("Which experiment from the answers do we want to try together?"),
            N_("How do we share what works with each other more often?"),
            N_("What do we want to learn as a team in the coming period?"),
        ),
    ),
    Theme(
        key="meetings",
        name=N_("Meetings that teach"),
        description=N_(
            "Team meetings with a clear purpose, active participation and room for reflection, not only announcements."
        ),
        questions=(
            N_("What did you take from our last team meeting that you have actually used?"),
            N_("Which part of our last meeting could just as well have been an email?"),
            N_("When did you recently feel most involved in a meeting, and what was the reason?"),
            N_("Which topic would you like to really dig into at our next meeting?"),
            N_("What should our next meeting be for: learning, deciding or going deeper? Explain your choice."),
            N_("What would you like to prepare or lead in a meeting yourself?"),
            N_("Which decision from a recent meeting is still unclear to you?"),
            N_("How did our meetings this period help you in your classroom?"),
        ),
        discussion=(
            N_("Which fixed item on our agenda can go, and what do we put in its place?"),
            N_("How do we start every meeting with a clear purpose?"),
            N_("Who will prepare part of the next meeting?"),
        ),
    ),
    Theme(
        key="rhythm",
        name=N_("Rhythm and the year calendar"),
        description=N_(
            "A fixed place in the school year for team learning, with a learning goal per "
            "period and regular moments to look back."
        ),
        questions=(
            N_("What did our team's learning goal for this period mean for your work this week?"),
            N_("Which good intention from the start of the year is still alive for you, and which one has faded?"),
            N_("What got pushed aside by the daily rush this week?"),
            N_("What do you want to have learned by the end of this period?"),
            N_("Which recurring team moment helps you most, and why?"),
            N_("What from the previous period would you like to build on?"),
            N_("What should we plan now so that it does not disappear when things get busy?"),
            N_("Which moment in the coming weeks would suit us to look back together?"),
        ),
        discussion=(
            N_("Which learning theme do we choose for the next period?"),
            N_("When do we plan our next moment to look back together?"),
            N_("What do we protect in the calendar, even when it gets busy?"),
        ),
    ),
    Theme(
        key="values",
        name=N_("Pedagogical values"),
        description=N_(
            "The beliefs that guide how we treat pupils, made explicit so that we understand each other's choices."
        ),
        questions=(
            N_("Which value guided a choice you made with a pupil this week? Describe the situation."),
            N_("What does trust look like in your classroom? Give a concrete example."),
            N_("When did you notice this week that a colleague acted from a different value than you?"),
            N_("In which situation this week did two of your values pull in different directions?"),
            N_("What does one of our team values mean in your contact with parents?"),
            N_("At which moment this week were you proud because it matched what you find important?"),
            N_("What did you see a colleague do this week that fits our values? Name the value."),
            N_("Which value do you find hard to put into practice at the moment, and why?"),
        ),
        discussion=(
            N_("Where do we mean the same value but act differently?"),
            N_("Which three values do we want to make visible in our daily work?"),
            N_("How can we use the language of values when we give each other feedback?"),
        ),
    ),
    Theme(
        key="differences",
        name=N_("Working with differences"),
        description=N_(
            "Seeing differences in style and view within the team as a source of quality rather than friction."
        ),
        questions=(
            N_("What did a colleague do this week in a way you would not have chosen, and what did it bring?"),
            N_("Which quality of a colleague complements you well?"),
            N_("How would you describe your own way of working in three words?"),
            N_("In which situation this week did a different view help the team see more?"),
            N_("Think of a recent moment of friction with a colleague. Which need of yours was behind it?"),
            N_("What could you learn from the colleague whose way of working differs most from yours?"),
            N_("How did you bring up a difference of opinion this period, and how did it go?"),
            N_("How does your particular strength help our pupils learn?"),
        ),
        discussion=(
            N_("Which differences in our team do we hardly ever talk about?"),
            N_("How can we deliberately pair colleagues who work differently?"),
            N_("Which agreement helps us discuss friction without judging?"),
        ),
    ),
    Theme(
        key="ownership",
        name=N_("Ownership and leadership"),
        description=N_(
            "Room to use your expertise within clear boundaries, so that everyone feels co-owner "
            "of how the school develops."
        ),
        questions=(
            N_("Where did you take the initiative this week, in something big or small?"),
            N_("Where would you like more room to decide for yourself, and what would you do with it?"),
            N_("Which small improvement to the way our team works could you take on?"),
            N_("Who in the team showed trust in you recently, and how did you notice?"),
            N_("What are you responsible for in our team, and how does it connect to the work of others?"),
            N_("What are you proud of in your work this period?"),
            N_("What is holding you back from taking on something you would like to do?"),
            N_("Which clear agreement or boundary would help you to act more freely?"),
        ),
        discussion=(
            N_("Which initiatives from the answers do we want to support?"),
            N_("Where are the boundaries unclear, and who can clarify them?"),
            N_("Which task could a pair take on instead of one person?"),
        ),
    ),
    Theme(
        key="happiness",
        name=N_("Work happiness"),
        description=N_(
            "Enjoying your work comes from influence, growth, connection with colleagues and "
            "knowing what you do it for."
        ),
        questions=(
            N_("What gave you energy at work this week?"),
            N_("What cost you energy this week, and what could make it lighter?"),
            N_("When did you feel connected to your colleagues this week?"),
            N_("Which moment this week reminded you why you chose this profession?"),
            N_("Where did you have influence on your own work this week?"),
            N_("In what way have you grown in your profession this period?"),
            N_("What recognition did you receive or give this week?"),
            N_("What would make next week a little more enjoyable for you?"),
        ),
        discussion=(
            N_("What gives us energy as a team, and how do we get more of it?"),
            N_("Which energy drain can we tackle together?"),
            N_("How do we show more often that we see each other's work?"),
        ),
    ),
)

THEMES: dict[str, Theme] = {theme.key: theme for theme in _THEMES}

# The reflection questions that ask someone to show something vulnerable: a mistake, a doubt,
# holding back, friction with or judgement of a colleague, what drains them, what holds them
# back. Their answers are never posted with names in the channel unless the team chose
# ``team`` for the ritual (``rituals.visibility``): by default such a round is anonymous.
# Listed by their message id, so a question reworded in its theme must be reworded here too
# (a test checks every entry is a question of a theme).
SENSITIVE: frozenset[str] = frozenset(
    {
        "When did you hold back a question or an idea this week, and what would have made it easier to say it?",
        "Describe a mistake you made recently. Whom did you tell, and how did they respond?",
        "How did you react the last time a colleague disagreed with you? What would you "
        "do the same way, and what differently?",
        "Which doubt about your work would you share with the team if it felt completely safe?",
        "Which decision from a recent meeting is still unclear to you?",
        "When did you notice this week that a colleague acted from a different value than you?",
        "Which value do you find hard to put into practice at the moment, and why?",
        "What did a colleague do this week in a way you would not have chosen, and what did it bring?",
        "Think of a recent moment of friction with a colleague. Which need of yours was behind it?",
        "What could you learn from the colleague whose way of working differs most from yours?",
        "How did you bring up a difference of opinion this period, and how did it go?",
        "Where would you like more room to decide for yourself, and what would you do with it?",
        "What is holding you back from taking on something you would like to do?",
        "What cost you energy this week, and what could make it lighter?",
    }
)

# Dutch names an admin may type for a theme (already normalised: lower case, words joined by
# hyphens). The slug of each theme's Dutch name is among them.
THEME_ALIASES: dict[str, str] = {
    "veiligheid": "safety",
    "psychologische-veiligheid": "safety",
    "veilig-teamklimaat": "safety",
    "doel": "goal",
    "gedeeld-doel": "goal",
    "gezamenlijk-doel": "goal",
    "teamdoel": "goal",
    "afhankelijkheid": "interdependence",
    "onderlinge-afhankelijkheid": "interdependence",
    "samen-leren": "learning",
    "teamleren": "learning",
    "leren": "learning",
    "overleggen": "meetings",
    "overleg": "meetings",
    "teamoverleg": "meetings",
    "vergaderingen": "meetings",
    "leerzame-overleggen": "meetings",
    "ritme": "rhythm",
    "jaarkalender": "rhythm",
    "ritme-en-jaarkalender": "rhythm",
    "waarden": "values",
    "pedagogische-waarden": "values",
    "verschillen": "differences",
    "omgaan-met-verschillen": "differences",
    "diversiteit": "differences",
    "eigenaarschap": "ownership",
    "leiderschap": "ownership",
    "eigenaarschap-en-leiderschap": "ownership",
    "werkgeluk": "happiness",
    "werkplezier": "happiness",
}


def _slug(word: str) -> str:
    return re.sub(r"[\s_-]+", "-", word.strip().lower()).strip("-")


_THEME_LOOKUP: dict[str, str] = {
    **{_slug(theme.name): theme.key for theme in _THEMES},
    **THEME_ALIASES,
    **{theme.key: theme.key for theme in _THEMES},
}


def find_theme(word: str) -> Theme | None:
    """The theme an admin means by ``word``: its key, a Dutch alias or its English name.

    Case, surrounding spaces, and spaces versus hyphens or underscores do not matter, so
    ``"Samen leren"``, ``"samen-leren"`` and ``"LEARNING"`` all find the same theme.
    """
    key = _THEME_LOOKUP.get(_slug(word))
    return THEMES[key] if key else None


def _theme(theme_key: str) -> Theme:
    theme = find_theme(theme_key)
    if theme is None:
        raise KeyError(f"unknown theme: {theme_key!r}")
    return theme


def reflection_questions(theme_key: str) -> tuple[str, ...]:
    """The written reflection questions (msgids) of a theme; KeyError if there is none."""
    return _theme(theme_key).questions


def discussion_questions(theme_key: str) -> tuple[str, ...]:
    """The follow-up questions (msgids) for the next team meeting; KeyError if unknown."""
    return _theme(theme_key).discussion


# --- Team-climate pulse -------------------------------------------------------------------
#
# Edmondson's seven items of team psychological safety (Edmondson, A. C. (1999). Psychological
# safety and learning behavior in work teams. Administrative Science Quarterly, 44(2), 350-383),
# adapted to a school team. Review against the 1999 items (R: reverse-worded there and here):
#
# 1. R "If you make a mistake on this team, it is often held against you."
#    -> "In our team, a mistake is often held against whoever made it." / "In ons team wordt
#    het je vaak nagedragen als je een fout maakt." Same content; the subject is the team.
# 2. "Members of this team are able to bring up problems and tough issues."
#    -> "... we can bring up problems and difficult issues." / "... kunnen we problemen en
#    lastige kwesties bespreekbaar maken." Same.
# 3. R "People on this team sometimes reject others for being different."
#    -> "... colleagues are sometimes left out for being different." / "... worden collega's
#    soms buitengesloten omdat ze anders zijn." "Left out" (buitengesloten) is how rejection shows
#    in a staff room; the item was missing from the earlier pulse.
# 4. "It is safe to take a risk on this team."
#    -> "... it is safe to take a risk, such as trying something new in class." / "... is het
#    veilig om een risico te nemen, bijvoorbeeld door iets nieuws te proberen in de klas." The
#    example grounds "risk" for teachers; it narrows the item a little, knowingly.
# 5. R "It is difficult to ask other members of this team for help."
#    -> "... it is hard to ask a colleague for help." / "... is het moeilijk om een collega om
#    hulp te vragen." Same.
# 6. "No one on this team would deliberately act in a way that undermines my efforts."
#    -> "... nobody would deliberately undermine a colleague's efforts." / "... zou niemand
#    bewust de inzet van een collega ondermijnen." Missing from the earlier pulse.
# 7. "Working with members of this team, my unique skills and talents are valued and utilized."
#    -> "... everyone's own skills and talents are valued and put to use." / "... worden ieders
#    eigen kwaliteiten en talenten gewaardeerd en benut."
#
# One subject throughout: every item starts "In our team" ("In ons team"). Items 6 and 7 speak
# of "my" efforts and skills in 1999; here of a colleague's and everyone's, a referent shift to
# the team (as in team-level climate measures), so that all seven ask how the team is, not how
# the answerer fares. The scale's mean counts reverse-worded items as 6 - answer
# (``rituals.scales``); figures per item are shown as answered, next to the item's own words.
# Edmondson used a 7-point scale; the pulse keeps the 1..5 agree scale of the other rituals.
#
# The short variant (``SHORT_PULSE``) asks three of the seven (4, 2 and the reverse-worded 1),
# for a monthly look between full rounds. It is named "short team pulse", not psychological
# safety: three items are no validated measure, and its mean is not comparable with the full
# scale's.

PULSE_STATEMENTS: tuple[Statement, ...] = (
    Statement(
        key="mistake_held_against",
        text=N_("In our team, a mistake is often held against whoever made it."),
        reverse=True,
    ),
    Statement(key="raise_problems", text=N_("In our team, we can bring up problems and difficult issues.")),
    Statement(
        key="left_out_for_difference",
        text=N_("In our team, colleagues are sometimes left out for being different."),
        reverse=True,
    ),
    Statement(
        key="safe_to_risk",
        text=N_("In our team, it is safe to take a risk, such as trying something new in class."),
    ),
    Statement(
        key="hard_to_ask_help",
        text=N_("In our team, it is hard to ask a colleague for help."),
        reverse=True,
    ),
    Statement(key="no_undermining", text=N_("In our team, nobody would deliberately undermine a colleague's efforts.")),
    Statement(
        key="skills_valued",
        text=N_("In our team, everyone's own skills and talents are valued and put to use."),
    ),
)

SHORT_PULSE: tuple[str, ...] = ("safe_to_risk", "raise_problems", "mistake_held_against")

# The statements of the pulse before it followed Edmondson: rounds asked then keep showing them.
EARLIER_PULSE_STATEMENTS: tuple[Statement, ...] = (
    Statement(
        key="take_risks",
        text=N_("In this team it is safe to try something new, even if it might fail."),
    ),
    Statement(
        key="mistakes",
        text=N_("When something goes wrong, we talk about it to learn, not to blame."),
    ),
    Statement(key="ask_help", text=N_("I find it easy to ask colleagues for help.")),
    Statement(key="valued", text=N_("My contribution is seen and valued in this team.")),
    Statement(key="disagree", text=N_("We can openly disagree with each other.")),
    Statement(key="speak_up", text=N_("I can raise a problem or a concern without hesitation.")),
)

# --- Agree scale --------------------------------------------------------------------------

_STRONGLY_DISAGREE = N_("Strongly disagree")
_STRONGLY_AGREE = N_("Strongly agree")

SCALE_LABELS = ScaleLabels(
    labels=(
        _STRONGLY_DISAGREE,
        N_("Disagree"),
        N_("Neither agree nor disagree"),
        N_("Agree"),
        _STRONGLY_AGREE,
    ),
    low_label=_STRONGLY_DISAGREE,
    high_label=_STRONGLY_AGREE,
)

# --- Meeting check-out --------------------------------------------------------------------

CHECKOUT = Checkout(
    score_question=N_("How useful was this meeting for you?"),
    low_label=N_("Not useful"),
    high_label=N_("Very useful"),
    takeaway_question=N_("What do you take with you from this meeting?"),
    improvement_question=N_("What would make our next meeting better?"),
)

# --- Shared goal --------------------------------------------------------------------------

GOAL_QUESTIONS: tuple[str, ...] = (
    N_("How did your work this week contribute to our goal?"),
    N_("What did you do this week that brought our goal a step closer?"),
    N_("Where did you notice something of our goal this week, in your class or in the team?"),
    N_("What will you do for our goal next week?"),
)

QUARTERLY_GOAL_QUESTIONS: tuple[str, ...] = (
    N_("Looking back on this quarter: what progress have we made towards our goal?"),
    N_("Which result of this quarter are you proud of?"),
    N_("What would you adjust in our goal, given what our pupils need now?"),
    N_("What will we stop, keep and start doing in the next quarter?"),
)

# --- Appreciation round -------------------------------------------------------------------

APPRECIATION = Appreciation(
    prompt=N_("What do you value in {colleague}? Name something concrete that you saw or experienced."),
    free_prompt=N_("Choose a colleague and tell them what you value in them."),
    starters=(
        N_("I appreciate how you…"),
        N_("Thanks to you, this week I…"),
        N_("I noticed how you…"),
        N_("From you I learned that…"),
        N_("You make a difference for our team when you…"),
    ),
)

# --- Values -------------------------------------------------------------------------------

VALUES: tuple[Value, ...] = (
    Value(key="safety", name=N_("Safety")),
    Value(key="trust", name=N_("Trust")),
    Value(key="ownership", name=N_("Ownership")),
    Value(key="curiosity", name=N_("Curiosity")),
    Value(key="respect", name=N_("Mutual respect")),
    Value(key="fairness", name=N_("Fairness")),
    Value(key="responsibility", name=N_("Responsibility")),
    Value(key="connection", name=N_("Connection")),
    Value(key="autonomy", name=N_("Autonomy")),
    Value(key="clarity", name=N_("Clarity")),
    Value(key="care", name=N_("Care")),
    Value(key="growth", name=N_("Growth")),
    Value(key="honesty", name=N_("Honesty")),
    Value(key="equality", name=N_("Equality")),
    Value(key="joy", name=N_("Joy")),
)

_VALUES_BY_KEY: dict[str, Value] = {value.key: value for value in VALUES}


def find_value(key: str) -> Value | None:
    """The value with this stable key, or None."""
    return _VALUES_BY_KEY.get(key.strip().lower())


# --- Collegial consultation in pairs ------------------------------------------------------

PAIRS_PROMPTS: tuple[str, ...] = (
    N_("Sit in on one of each other's lessons and afterwards tell each other one thing that struck you."),
    N_("Bring a case about a pupil you are struggling with and think it through together for a quarter of an hour."),
    N_("Exchange one tip that saved you time or made a lesson run better."),
    N_("Prepare a lesson or activity together and try it out in both of your classes."),
    N_("Tell each other about a mistake you learned from this month."),
    N_("Give each other feedback on one point that the other has asked for."),
    N_("Talk through a difficult conversation with a parent or pupil and how you would approach it next time."),
    N_("Name what you value in each other's way of working."),
    N_("Choose one value you share and find out where you see it in each other's classrooms."),
)


# --- The school year ----------------------------------------------------------------------
#
# The moments of the year (``rituals.year.moment``): the reflection asks these instead of its
# theme's question of the week. The kickoff and the end of the year ask several questions at
# once; a period's end asks about its learning goal.

KICKOFF_QUESTIONS: tuple[str, ...] = (
    N_("Why are we a team? What can we achieve for our pupils together that none of us could alone?"),
    N_("Which shared goal would you propose for this school year?"),
    N_("Which working agreement would help us most this year, in meetings and in between?"),
    N_("What is your good intention for this school year, as a colleague in this team?"),
)

END_OF_YEAR_QUESTIONS: tuple[str, ...] = (
    N_("Looking back on this school year: what are you proud of, as a team and yourself?"),
    N_("What do we take with us into next school year, and what do we leave behind?"),
    N_("Which good intention from the start of the year did you keep, and what helped you?"),
)

# {goal}: the period's learning goal, as the team wrote it.
PERIOD_END_QUESTION = N_(
    "Our learning goal this period was: \u201c{goal}\u201d. What have we learned, and where do we stand?"
)
# {theme}: the period's theme, without a learning goal.
PERIOD_END_THEME_QUESTION = N_(
    "This period we worked on {theme}. What has changed in how we work together, and what do we keep?"
)
# The middle of the year: the intentions of the kickoff come back.
MIDYEAR_QUESTION = N_(
    "Which good intention from the start of the year is still alive for you, and which one has faded?"
)

# The goal ritual's look-back when a plan exists: at each period's end instead of each quarter.
PERIOD_GOAL_QUESTIONS: tuple[str, ...] = (
    N_("Looking back on this period: what progress have we made towards our goal?"),
    N_("Which result of this period are you proud of?"),
    N_("What will we stop, keep and start doing in the next period?"),
)

# Questions about a stored core value: {value} its name, {meaning} what the team means by it.
VALUE_QUESTIONS: tuple[str, ...] = (
    N_("For us, {value} means: \u201c{meaning}\u201d. Where did you see that this week, in your class or in the team?"),
    N_("When was it hard this week to act on {value} as we described it (\u201c{meaning}\u201d)? What happened?"),
)
VALUE_QUESTION_WITHOUT_MEANING = N_(
    "What does {value} look like in your class? Give a concrete example from this week."
)

# Questions that refer to something the team stores in Ritme: asked only when it is stored.
LEARNING_GOAL = "learning_goal"
CORE_VALUES = "core_values"
REQUIRES: dict[str, str] = {
    N_("What did our team's learning goal for this period mean for your work this week?"): LEARNING_GOAL,
    N_("What does one of our team values mean in your contact with parents?"): CORE_VALUES,
    N_("What did you see a colleague do this week that fits our values? Name the value."): CORE_VALUES,
}
