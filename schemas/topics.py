"""Topic names: the one place they are spelled."""

RAW = "articles.raw"
CLEAN = "articles.clean"
TAGGED = "articles.tagged"
DLQ = "articles.dlq"

ALL = (RAW, CLEAN, TAGGED, DLQ)
