"""Topic names: the one place they are spelled."""

RAW = "articles.raw"
CLEAN = "articles.clean"
TAGGED = "articles.tagged"
DLQ = "articles.dlq"

ALL = (RAW, CLEAN, TAGGED, DLQ)

# Header every feed sets on articles.raw: when this version of the article was fed, in ms since the epoch. The cleaner
# copies it into CleanArticle.version (the message timestamp when a producer set no header), dead letters keep it and
# replay sends it again, so a replayed old version never overwrites a newer article in the store.
VERSION_HEADER = "citydesk-version"
