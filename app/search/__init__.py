"""Full-text search: Polish-aware terms in a PostgreSQL tsvector, filtered by permissions."""
