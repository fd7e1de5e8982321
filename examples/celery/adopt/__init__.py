"""A plain Celery project (``plain/``) and the same project made durable (``durable/``):
see README.md here and docs/guides/migrating-from-celery.md."""
