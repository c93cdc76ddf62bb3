"""docarchive: document management and archiving for back offices."""
