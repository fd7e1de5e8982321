"""The names of the Celery tasks the runtime registers (``worker.install``).

Pure constants, so code that routes or recognises these tasks (a product's own ids,
a dead-letter tool) can name them without loading the runtime's machinery.
"""

#: The Celery task that runs a turn.
TURN_TASK_NAME = "actors.turn"
#: The Celery task that runs the turns of several actors woken by due timers, one after
#: the other, each with its timer's message in hand (``ActorSystem.deliver_timers``).
WAKE_TASK_NAME = "actors.wake"
