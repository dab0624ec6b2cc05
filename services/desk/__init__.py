"""The analyst's desk: `citydesk serve`, a local web application over the search store.

Pages: Search (query, filters, facets, articles per month), Article (highlighted names, relations with their
evidence, sectors, how it was cleaned), Map (Korean governments and partners, ties as lines), Operations (workers,
lag, dead letters, replay). It reads the store only through ``ArticleStore`` (search, get, count) plus the two
aggregations in ``services.desk.queries`` (articles per month, relation pairs), so it works on the embedded store
and on Elasticsearch alike.

Modules: ``queries`` (request → SearchQuery, aggregations, map data), ``article`` (the article view: highlights,
evidence), ``cleaning`` (the cleaner's verdicts from a raw body), ``ops`` (workers, lag, dead letters), ``security``
(CSRF, trusted hosts, headers), ``app`` (routes and templates), ``server`` (uvicorn, the discovery file, the
background process of `citydesk run --keep`), ``client`` (`citydesk search` through a running desk), ``assets``
(the vendored front-end libraries).
"""
