"""The same project, durable: the tasks and the app are imported as they are."""
