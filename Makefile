# The two contract commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := demo

# ansible-core 2.20+ needs Python >= 3.12: take pyenv's 3.12 when the machine has it,
# otherwise Debian's python3 (3.11) with the last ansible-core that supports it.
PY312 := $(wildcard /root/.pyenv/versions/3.12.*/bin/python3)
BASE_PYTHON ?= $(if $(PY312),$(firstword $(PY312)),/usr/bin/python3)
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
COLLECTION_LINK := $(CURDIR)/build/ansible_collections/switchboard/pbx
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/build
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(VENV)/bin:$(PATH)

DEMO_PACKAGES := kamailio kamailio-sqlite-modules sqlite3 python3-venv
TEST_PACKAGES := $(DEMO_PACKAGES) kamailio-postgres-modules kamailio-json-modules \
	kamailio-extra-modules kamailio-utils-modules sipsak baresip postgresql-15 openssh-server \
	kannel kannel-extras chromium

.PHONY: demo test bench bench-1m sanity lab lab-down setup system-packages clean schema
schema: schemas/state.schema.json

setup: $(VENV)/.installed $(COLLECTION_LINK)

$(VENV)/.installed: requirements.txt pyproject.toml
	@if ! $(BASE_PYTHON) -c 'import ensurepip' 2>/dev/null; then $(MAKE) --no-print-directory system-packages PACKAGES=python3-venv; fi
	$(BASE_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	if $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
		$(PY) -m pip install --quiet 'ansible-core>=2.21,<2.22' -r requirements.txt; \
	else \
		$(PY) -m pip install --quiet 'ansible-core>=2.19,<2.20' -r requirements.txt; \
	fi
	$(PY) -m pip install --quiet --editable .
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

# Installs only what is missing, so a prepared machine does not need the network.
system-packages:
	@missing=$$(for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing system packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

demo:
	$(MAKE) --no-print-directory system-packages PACKAGES="$(DEMO_PACKAGES)"
	$(MAKE) --no-print-directory setup
	ansible-playbook -i inventories/demo playbooks/site.yml --diff
	@echo "--- the activation SMS (file gateway, one JSON file per message) are in $(CURDIR)/var/demo/sms:"
	@ls -1 var/demo/sms 2>/dev/null | tee build/demo-sms.list || true
	@echo "--- second run: must report changed=0 and send no SMS"
	ansible-playbook -i inventories/demo playbooks/site.yml | tee build/demo-rerun.log
	@grep -Eq 'changed=0 +unreachable=0 +failed=0' build/demo-rerun.log
	@ls -1 var/demo/sms 2>/dev/null | cmp -s - build/demo-sms.list

test:
	$(MAKE) --no-print-directory system-packages PACKAGES="$(TEST_PACKAGES)"
	$(MAKE) --no-print-directory setup
	$(PY) -m pytest tests -p no:cacheprovider
	$(MAKE) --no-print-directory sanity

SANITY_ROOT := $(CURDIR)/build/sanity/ansible_collections/switchboard/pbx
# ansible-test downloads a pip bootstrap script from a host outside the package registries.
GET_PIP_CACHE = $(HOME)/.ansible/test/cache/get_pip_$(subst .,_,$(shell grep -ohP "pip='\K[0-9.]+" $(VENV)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -1)).py

sanity: setup
	mkdir -p $(dir $(GET_PIP_CACHE)) && test -s $(GET_PIP_CACHE) || cp scripts/get-pip-offline.py $(GET_PIP_CACHE)
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_ROOT)
	git ls-files -co --exclude-standard | grep -v '^build/' | tar -cf - -T - | tar -xf - -C $(SANITY_ROOT)
	cd $(SANITY_ROOT) && git init -q && git add -A && \
		ansible-test sanity --python $$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# The fleet part: FLEET_SIZES devices (real sshd + baresip each) from nothing and a no-change run, at 10 and 20 workers.
FLEET_SIZES ?= 100
bench: setup
	cd tests/bench && $(PY) run.py
	cd tests/bench && FLEET_WORKERS="10 20" $(PY) fleet.py $(FLEET_SIZES)
	$(PY) tests/bench/reports.py
	$(PY) tests/bench/drift.py 100000
	cd tests/bench && $(PY) gather.py
	$(PY) tests/bench/import_csv.py 10000

# The PostgreSQL moonshot (1M accounts; BENCH_1M_SIZES="10000 100000 1000000" is the curve): minutes, not in CI.
bench-1m: setup
	cd tests/bench && $(PY) moonshot.py

clean:
	rm -rf build var

schemas/state.schema.json: plugins/module_utils/state_schema.py
	$(MAKE) --no-print-directory setup
	$(PY) -c 'import json, sys; sys.path.insert(0, "build"); \
		from ansible_collections.switchboard.pbx.plugins.module_utils.state_schema import STATE_FILE; \
		print(json.dumps(STATE_FILE, indent=2))' > $@

# The local platform on loopback (Kamailio, the provisioning service, Kannel with fakesmsc; PBX_DB=postgres adds
# PostgreSQL 15). See inventories/lab.
PBX_DB ?= sqlite
lab:
	$(MAKE) --no-print-directory system-packages PACKAGES="$(TEST_PACKAGES)"
	$(MAKE) --no-print-directory setup
	scripts/lab up $(PBX_DB)

lab-down:
	scripts/lab down
