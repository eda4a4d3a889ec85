# The two commands of the README. Each prepares everything it needs.
.PHONY: demo test setup bench
demo:
	@scripts/setup.sh
	@.venv/bin/civicard demo

test:
	@scripts/test.sh

setup:
	@scripts/setup.sh

bench:
	@scripts/setup.sh
	@for b in bench/bench_*.py; do echo "== $$b"; .venv/bin/python $$b; done
