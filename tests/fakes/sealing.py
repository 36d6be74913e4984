"""The sealer of tests that build a ``Repo`` themselves, with the tests' server secret
(``ritme serve`` in the tests reads the same one from RITME_SECRET_KEY)."""

from storage.answers.seal import Sealer
from tests.fakes.secret_key import SECRET_KEY

SEALER = Sealer(SECRET_KEY.encode("utf-8"))
