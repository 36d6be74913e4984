"""The server secret of the tests: ``RITME_SECRET_KEY`` for every app and replica they start.

Made fresh for each test run, the way the README tells an operator to make one, so that no
secret written in this repository is one a Ritme server accepts (``bot.config.weak_secret``
refuses published examples). Processes started by the tests get it through their
environment, so a run shares one secret.
"""

from __future__ import annotations

import secrets

SECRET_KEY = secrets.token_hex(32)
