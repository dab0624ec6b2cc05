"""Indexer: tagged articles → a search store (embedded tantivy by default, Elasticsearch in production).

The factory lives here, above the stores, so that no store module imports another (store.py is the interface both
implement; this package picks one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.indexer.store import ArticleStore
    from services.settings import Settings


def open_store(settings: Settings | None = None, *, writer: bool = False) -> ArticleStore:
    """The store CITYDESK_STORE names: Elasticsearch, or the embedded store (writer=True takes its writer lock)."""
    from services.settings import settings as current

    cfg = settings or current()
    if cfg.store == "elasticsearch":
        from services.indexer.elastic import ElasticsearchStore, es_client

        return ElasticsearchStore(cfg.elasticsearch_url, cfg.elasticsearch_index, client=es_client(cfg),
                                  timeout_s=cfg.elasticsearch_timeout_s, register_dir=cfg.data_dir)
    from services.indexer.embedded import EmbeddedStore

    return EmbeddedStore(cfg.store_dir, writer=writer, register_dir=cfg.data_dir)
