"""Where answers are written.

- ``rows``: the answer operations of a transaction (``AnswerRows``): who is in the team, the
  members made on first contact, named replies, and anonymous answers sealed until their
  round closes, then opened all at once. The named and the anonymous paths, and the SQLite
  and PostgreSQL ways of writing a batch, are described there.
- ``statements``: the statements of both databases, built once per dialect.
- ``postgres``: a batch on PostgreSQL as one read and one write statement.
- ``seal``: sealing anonymous answers with keys of their round.
- ``writer``: the thread that writes batches of answers, with its own loop and connections.

The engine (``rituals.engine``) gathers answers into batches, checks them and hands them
to ``Store.run_answers``; everything about SQL stays here.
"""
