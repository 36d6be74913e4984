"""Where answers are written.

- ``rows``: the answer operations of a transaction (``AnswerRows``): who is in the team, the
  members made on first contact, named replies, and anonymous answers sealed until their
  round closes, then opened all at once. The named and the anonymous paths, and the SQLite
  and PostgreSQL ways of writing a batch, are described there.
- ``statements``: the statements of both databases, built once per dialect.
- ``postgres``: a batch on PostgreSQL as one read and one write statement, the write checking
  what the batch was decided on.
- ``memory``: the rounds and people the PostgreSQL writer remembers, so that most batches are
  the write alone.
- ``seal``: sealing anonymous answers with keys of their round.
- ``writer``: ``AnswerWriter`` (answers in, outcomes out: the queue, the lanes, the batches
  and the futures), and where the batches are written: ``SqliteWriter`` on the server's loop
  with the synchronous driver, ``WriterThread`` (PostgreSQL) on a thread with its own loop
  and connections.

The path of an answer: an adapter calls ``Engine.submit``; ``AnswerWriter.submit`` queues it;
a lane takes it with the others waiting and, where its database is written best, reads the
batch's rounds and people (``AnswerRows.answer_context``; on PostgreSQL mostly remembered),
asks the engine's rules
(``rituals.answers.Rules``: pure, no I/O) what to accept, writes (``AnswerRows.save_answers``)
and settles each member's future with an ``Outcome`` that ``Engine.submit`` translates.
"""
