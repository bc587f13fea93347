# The whole platform on this machine: `make run`, then `make test`.
PY        ?= python3.11
VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed

.PHONY: test-fast fuzz eval-pii bench-consumers console-deps train-dispatch eval-dispatch run stop test test-instants test-unit lint typecheck venv clean bench bench-scale docs kpi-rebuild check-consistency test-faults demo redrive browser-deps screenshots

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

# The console needs no build step; its one third-party library (Apache ECharts) comes from
# the npm registry at the version package-lock.json pins, copied into console/vendor/
# (not committed).
CONSOLE        := services/intake/console
CONSOLE_VENDOR := $(CONSOLE)/vendor/echarts.esm.min.mjs
$(CONSOLE_VENDOR): $(CONSOLE)/package.json $(CONSOLE)/package-lock.json
	npm ci --prefix $(CONSOLE) --no-audit --no-fund --silent
	mkdir -p $(CONSOLE)/vendor
	cp $(CONSOLE)/node_modules/echarts/dist/echarts.esm.min.mjs $@
	cp $(CONSOLE)/node_modules/echarts/LICENSE $(CONSOLE)/vendor/ECHARTS-LICENSE

console-deps: $(CONSOLE_VENDOR)

run: $(STAMP) console-deps
	$(BIN)/python scripts/devctl.py up

stop:
	@$(BIN)/python scripts/devctl.py stop 2>/dev/null || true

test: $(STAMP) browser-deps console-deps lint typecheck
	$(BIN)/python -m pytest

# The console's browser tests drive Debian's Chromium (and a CJK font for the screenshots).
BROWSER_PKGS := chromium chromium-driver fonts-wqy-zenhei
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser-deps:
	@test -x /usr/bin/chromedriver -a -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc || \
	  ($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(BROWSER_PKGS))

# Screenshots of each console page, taken by the browser test, into docs/screenshots/.
screenshots: $(STAMP) browser-deps console-deps
	SCREENSHOTS=1 $(BIN)/python -m pytest tests/e2e/test_console.py tests/e2e/test_console_admin.py tests/e2e/test_console_workday.py tests/e2e/test_console_gaps.py

test-unit: $(STAMP)
	$(BIN)/python -m pytest -m unit

# Commands and consumers' handlers on the real database, an in-memory bus instead of the
# broker and a fake of routing's API (tests/fast): no broker, no service processes.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m fast tests/fast

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy shared services scripts bench

clean: stop
	rm -rf .run

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Each service's consumer applying a backlog already on the topic (no broker), per second.
bench-consumers: $(STAMP)
	$(BIN)/python bench/consumers.py

# The KPI database filled with a month at a big city's volume (BENCH_SCALE_FACTS, default
# 600000), then the supervisor's, head's and handler's KPI pages timed (bench/scale.py).
bench-scale: $(STAMP)
	$(BIN)/python bench/scale.py

docs: $(STAMP)
	$(BIN)/python scripts/gen_docs.py

# Content-based dispatch: train a model now (routing's database), or measure it on the
# labelled evaluation set bench/eval/dispatch.jsonl (trained on the catalogue only).
train-dispatch: $(STAMP)
	$(BIN)/python -m services.routing.learning

eval-dispatch: $(STAMP)
	$(BIN)/python bench/eval_dispatch.py

# Personal data in free text: what survives the masking, on a set written without the code.
eval-pii: $(STAMP)
	$(BIN)/python bench/eval_pii.py

# The schema-driven fuzzer with more examples per operation (FUZZ_EXAMPLES), its counts of
# calls, 5xx answers and undocumented answers into bench/results.json.
FUZZ_EXAMPLES ?= 10
fuzz: $(STAMP)
	@mkdir -p .run && rm -f .run/fuzz.jsonl
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_REPORT=$(CURDIR)/.run/fuzz.jsonl $(BIN)/python -m pytest -q -p no:cacheprovider tests/e2e/test_fuzz.py -s; \
	  status=$$?; $(BIN)/python bench/fuzz_report.py .run/fuzz.jsonl; exit $$status

kpi-rebuild: $(STAMP)
	$(BIN)/python -m services.kpi.rebuild $(ARGS)

check-consistency: $(STAMP)
	$(BIN)/python scripts/check_consistency.py

# Feed the platform `make run` started at a gentle rate (DEMO_RATE requests/s) until Ctrl-C.
DEMO_RATE ?= 1
demo: $(STAMP)
	$(BIN)/python bench/loadgen.py --rate $(DEMO_RATE)

# Send dead letters back to their topic after the fix (CONSUMER=name to pick one consumer's).
redrive: $(STAMP)
	$(BIN)/python scripts/devctl.py redrive $(if $(CONSUMER),--consumer $(CONSUMER))

test-faults: $(STAMP)
	$(BIN)/python -m pytest tests/faults -p no:cacheprovider --override-ini="addopts=--strict-markers -ra" --timeout=600

# The suite again under pinned instants where time-dependent defects hide (shared.clock):
# a Saturday night, the evening before a holiday, a month's last minute, New Year's Eve.
TEST_INSTANTS ?= 2026-12-05T22:30:00+08:00 2026-09-30T20:00:00+08:00 2026-11-30T23:59:00+08:00 2026-12-31T23:00:00+08:00
# CI runs the unit and integration tiers at each instant (INSTANT_TIERS="" for everything).
INSTANT_TIERS ?= -m "unit or integration"
test-instants: $(STAMP) browser-deps console-deps
	@set -e; for at in $(TEST_INSTANTS); do \
	  echo "== the suite at $$at"; \
	  TEST_CLOCK_AT=$$at $(BIN)/python -m pytest -q -p no:cacheprovider $(INSTANT_TIERS); \
	done
