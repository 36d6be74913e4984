"""The sealing secret of tests that build a ``Repo`` themselves (``ritme serve`` in the
tests reads its own from RITME_SECRET_KEY or the generated secret file)."""

from storage.answers.seal import Sealer

SEALING_SECRET = b"tests-seal-9f1c2a7e4b0d83c6e5a1f2b7d9c04e68"
SEALER = Sealer(SEALING_SECRET)
