"""The ritual kinds, one module each, in one explicit registry."""

from __future__ import annotations

from rituals.kinds.appreciation import Appreciation
from rituals.kinds.base import RitualKind
from rituals.kinds.checkout import Checkout
from rituals.kinds.digest import Digest
from rituals.kinds.goal import Goal
from rituals.kinds.pairs import Pairs
from rituals.kinds.pulse import Pulse
from rituals.kinds.reflection import Reflection
from rituals.kinds.values import Values

KINDS: dict[str, RitualKind] = {
    kind.key: kind for kind in (Goal(), Reflection(), Checkout(), Pulse(), Appreciation(), Values(), Pairs(), Digest())
}
