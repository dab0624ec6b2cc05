# The two commands of the README. Each sets up .venv by itself (scripts/bootstrap, idempotent).
.PHONY: run test lint bench

run:
	@scripts/bootstrap
	.venv/bin/citydesk run $(ARGS)

test:
	@scripts/bootstrap
	.venv/bin/ruff check .
	.venv/bin/mypy schemas services
	.venv/bin/python -m pytest $(PYTEST_ARGS)

bench:
	@scripts/bootstrap
	.venv/bin/citydesk bench $(ARGS)
