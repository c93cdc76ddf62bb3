"""Background jobs: the procrastinate app, document processing and periodic tasks."""
