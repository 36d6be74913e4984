"""The review page's audit log: what admins changed, each action with its label."""

from __future__ import annotations

from typing import Any

from bot.export import Report
from bot.html import esc, section
from rituals.i18n import N_, Translator
from rituals.visibility import NAMES, Visibility

ACTIONS = {
    "ritual.add": N_("Ritual added"),
    "ritual.pause": N_("Ritual paused"),
    "ritual.resume": N_("Ritual resumed"),
    "ritual.remove": N_("Ritual removed"),
    "goal.set": N_("Shared goal set"),
    "team.timezone": N_("Timezone set"),
    "team.language": N_("Language set"),
    "holiday.add": N_("Holiday added"),
    "holiday.remove": N_("Holiday removed"),
    "team.holidays": N_("Public holidays"),
    "role.add": N_("Role given"),
    "role.remove": N_("Role removed"),
    "question.add": N_("Question added"),
    "team.themes": N_("Themes set"),
    "appreciation.start": N_("Appreciation round started"),
    "review.link": N_("Review link made"),
    "export": N_("Export link made"),
    "review.links_revoked": N_("Review and export links revoked"),
    "team.anonymity_threshold": N_("Threshold set"),
    "team.retention": N_("Retention set"),
    "values.add": N_("Value added"),
    "values.remove": N_("Value removed"),
    "action.add": N_("Action recorded"),
    "holiday.import": N_("Holidays imported"),
    "pairs.exclude": N_("Left out of pairs"),
    "pairs.include": N_("Back in pairs"),
    "pairs.label": N_("Label set"),
    "pairs.mix": N_("Pairs mixing set"),
    "plan.add": N_("Year plan updated"),
    "plan.remove": N_("Year plan updated"),
    "teams.install": N_("Installed in Teams"),
    "ritual.visibility": N_("Visibility set"),
}


def audit_text(action: str, detail: dict[str, Any], _: Translator) -> str:
    text = _(ACTIONS[action]) if action in ACTIONS else action
    if "ritual" in detail:
        text += f" #{detail['ritual']}"
    if detail.get("visibility") in NAMES:
        text += f": {_(NAMES[Visibility(detail['visibility'])])}"
    return text


def audit_section(report: Report, _: Translator) -> str:
    entries = report.audit
    if not entries:
        return section("audit", _("Admin log"), f'<p class="empty">{esc(_("No admin actions in this period."))}</p>')
    body = "".join(
        f"<tr><td>{esc(_.when_year(e.created_at, report.tz))}</td><td>{esc(audit_text(e.action, e.detail, _))}</td>"
        f"<td>{esc(e.actor or _('someone (forgotten)'))}</td></tr>"
        for e in entries
    )
    head = f"<tr><th>{esc(_('When'))}</th><th>{esc(_('What'))}</th><th>{esc(_('Who'))}</th></tr>"
    return section(
        "audit",
        _("Admin log"),
        f'<div class="scroll"><table class="audit"><thead>{head}</thead><tbody>{body}</tbody></table></div>',
    )
