# `make run` and `make test` work on a fresh machine with only Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
# `make bench BENCH_PLAN=smoke` is the quick run `make test` also does; the default is the full one.
BENCH_PLAN ?= full

.PHONY: run test bench eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# `make run` is development by its own say-so (SDR_ENV=development): local defaults, loopback only.
run: export SDR_ENV = development
run: $(VENV)/.runtime
	$(BIN)/flask --app app db upgrade
	@echo ""
	@echo "SDR Agent is starting on http://127.0.0.1:$(PORT)"
	@echo "  Simulator:        http://127.0.0.1:$(PORT)/simulator   (chat with the bot as a lead)"
	@echo "  Dashboard:        http://127.0.0.1:$(PORT)/admin       (password: ADMIN_PASSWORD, 'admin' locally)"
	@echo "  WhatsApp webhook: http://127.0.0.1:$(PORT)/twilio/whatsapp"
	@echo "  Health check:     http://127.0.0.1:$(PORT)/healthz"
	@echo "  Chat as a lead:   $(BIN)/flask --app app sdr chat   (in another terminal)"
	@echo "  Call as a lead:   $(BIN)/flask --app app sdr call   (type what you would say)"
	@echo ""
	PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py app:app

test: $(VENV)/.dev
	$(BIN)/python -m pytest

# Scores the configured model (SDR_LLM_API_KEY, SDR_LLM_BASE_URL, SDR_LLM_MODEL) on the labelled lead
# messages and writes docs/evaluation.md; the test suite runs the same scoring against its loopback model.
eval: $(VENV)/.runtime
	$(BIN)/python -m sdr_agent.understanding.evaluation

# Needs PostgreSQL and Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL; defaults: 127.0.0.1, database
# `test`, Redis db 4) and Debian's wrk, installed here when missing and we may. Writes docs/benchmarks.md.
bench: $(VENV)/.runtime
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; \
	  else echo "make bench needs wrk: run 'sudo apt-get install -y wrk'" >&2; exit 1; fi; }
	BENCH_COMMAND="make bench BENCH_PLAN=$(BENCH_PLAN)" $(BIN)/python -m bench --plan $(BENCH_PLAN)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
