"""The fast paths of a turn: round trips a turn saves, none of them needed for correctness.

Each one is an optimisation with the same outcome as the plain turn it shortcuts
(``turn``, ``turn_begin``, ``turn_end``), and each says what it promises when it
cannot apply (it does nothing, and the plain path runs):

* ``in_hand``: a message handled by the worker that produced it, not read from the
  mailbox;
* ``early_turn``: a turn with a message in hand decided on the cached state, and its
  begin and commit sent in one round trip;
* ``end_in_commit``: a turn's end (release, timers, a kept task's first writes) sent
  behind its last commit, in the same round trip;
* ``in_place`` and ``end_in_place``: the next task a task sends kept and run in the
  same process, and the turn's release put off to that task's first round trip;
* ``commit_riders`` and ``conditional_writes``: a write that rides on a commit's round
  trip, unconditionally or only if the commit happened.
"""
