# wandb-local-kit: thin targets over the `wandb-kit` CLI and docker compose.
# `make help` lists them. Every target is one call; the logic lives in deploy/ and scripts/.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV ?= .venv
PY   ?= $(VENV)/bin/python
KIT  ?= $(PY) -m wandb_local_kit
PYTEST_ARGS ?=
# pytest-xdist workers for `make test`: the suite mostly waits on containers, so on a
# 2-core machine 4 workers keep it busy (benchmarks/RESULTS.md). 0 runs it in one process.
TEST_WORKERS ?= 4

.PHONY: help venv images up down status logs health doctor smoke test test-unit test-portable lint

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: ## create .venv with the kit and everything the tests use
	scripts/setup-venv.sh

images: ## build the offline test images (stand-ins for mysql, S3, caddy, W&B)
	scripts/build-images.sh

up: venv ## start the stack (embedded default; init writes compose/.env first if missing)
	@test -f compose/.env || $(KIT) init
	$(KIT) up

down: venv ## stop the stack (data is kept)
	$(KIT) down

status: venv ## show the stack's containers and health
	$(KIT) status

logs: venv ## show the stack's logs
	$(KIT) logs

health: venv ## layered health check of the server
	$(KIT) health

doctor: venv ## diagnose known self-hosting pitfalls and print fixes
	$(KIT) doctor

smoke: venv ## log every media type with the SDK and read it back
	$(KIT) smoke

test: venv ## THE test command: unit, stand-in and integration tests (Docker for the latter)
	@if docker info >/dev/null 2>&1; then scripts/build-images.sh; fi
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=40 $(PYTEST_ARGS)

test-unit: venv ## unit tests only (no Docker, no network)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-portable: venv ## the integration and SDK tests marked portable: what a real server will run
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup -m portable tests/integration tests/sdk

.PHONY: test-real
test-real: venv ## the portable tests against a real server: KIT_REAL_IMAGE or KIT_REAL_URL (docs/testing.md)
	@if [ -z "$$KIT_REAL_IMAGE" ] && [ -z "$$KIT_REAL_URL" ]; then \
	  echo "make test-real: set KIT_REAL_IMAGE=<image> and KIT_REAL_LICENSE_FILE=<path>," \
	    "or KIT_REAL_URL=<url> and KIT_REAL_ADMIN_KEY=<key> (docs/testing.md: The real-server lane)" >&2; \
	  exit 2; fi
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup -m portable tests/integration tests/sdk

.PHONY: test-platforms
test-platforms: venv ## the Ansible collection's molecule scenario on Debian 13 too (Debian 12 runs in make test)
	@if docker info >/dev/null 2>&1; then KIT_DEBIAN_RELEASE=trixie scripts/make-base-image.sh && scripts/build-images.sh; fi
	KIT_PLATFORM_MATRIX=1 $(PY) -m pytest -n 2 --dist loadgroup tests/ansible/test_molecule_trixie.py $(PYTEST_ARGS)

lint: venv ## ruff over the code and tests; import-linter keeps the layers of deploy/ honest
	$(PY) -m ruff check deploy tests benchmarks scripts
	$(VENV)/bin/lint-imports
	$(PY) -m mypy
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline --strict-collection --no-progress .github/workflows

.PHONY: lab-server lab-server-stop collection
lab-server: ## a local lab server (Debian, systemd, sshd) to try ansible/ on: prints its inventory
	tests/images/lab-server/lab-server.sh start

lab-server-stop: ## remove the local lab server of `make lab-server` (and its data)
	tests/images/lab-server/lab-server.sh stop

collection: venv ## build the Ansible collection tarball (build/collection/wandb_local_kit-lab-*.tar.gz)
	ANSIBLE_GALAXY=$(VENV)/bin/ansible-galaxy ansible/build-collection.sh build/collection
