"""Indexer: tagged articles → a search store (embedded tantivy by default, Elasticsearch in production)."""
