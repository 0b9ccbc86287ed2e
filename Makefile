# `make run` and `make test` work on a fresh machine with only Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(BIN)/flask --app app db upgrade
	@echo ""
	@echo "SDR Agent is starting on http://localhost:$(PORT)"
	@echo "  Simulator:        http://localhost:$(PORT)/simulator   (chat with the bot as a lead)"
	@echo "  Dashboard:        http://localhost:$(PORT)/admin       (password: ADMIN_PASSWORD, 'admin' locally)"
	@echo "  WhatsApp webhook: http://localhost:$(PORT)/twilio/whatsapp"
	@echo "  Health check:     http://localhost:$(PORT)/healthz"
	@echo "  Chat as a lead:   $(BIN)/flask --app app sdr chat   (in another terminal)"
	@echo ""
	PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py app:app

test: $(VENV)/.dev
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
