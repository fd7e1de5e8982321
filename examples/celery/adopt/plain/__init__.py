"""A small Celery project as it is today: tasks, a chord, a beat schedule."""
