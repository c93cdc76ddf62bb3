"""Documents: upload, versions, metadata and content."""
