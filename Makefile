# oob-prep. Two commands matter:  make demo  |  make test
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# ansible-lint, molecule and ansible-test write under HOME: keep that inside the project
export ANSIBLE_HOME := $(CURDIR)/.cache/ansible
export XDG_CACHE_HOME := $(CURDIR)/.cache/xdg
# Caches that serve every checkout on this machine (a clean clone in CI included): pip's wheels and ansible-test's
# sanity virtualenvs. Content-addressed (wheels by hash, sanity venvs by their requirements): sharing them changes no
# result, only the time a fresh clone takes. OOB_MACHINE_CACHE= (empty) keeps them inside the project.
OOB_MACHINE_CACHE ?= $(HOME)/.cache/oob-prep
export PIP_CACHE_DIR ?= $(if $(OOB_MACHINE_CACHE),$(OOB_MACHINE_CACHE)/pip,$(CURDIR)/.cache/xdg/pip)
export SANITY_HOME ?= $(if $(OOB_MACHINE_CACHE),$(OOB_MACHINE_CACHE)/sanity-home,$(CURDIR)/.cache/sanity-home)
# Certipy (tests only) lives in its own venv; the Certipy tests skip, saying why, when it is not there
export OOB_CERTIPY ?= $(if $(wildcard $(CURDIR)/.venv-certipy/bin/certipy),$(CURDIR)/.venv-certipy/bin/certipy,)
LAB := $(BIN)/python lab/lab.py
LAB_VAULT := --vault-id lab@inventories/lab/vault-password.txt
LAB_OPTS ?=
# The environment for converge / check / verify: inventories/$(ENV). The lab's vault password is a file in its
# inventory; any other environment's is asked for (or give VAULT_ID=<env>@<file or script>).
ENV ?= lab
VAULT_ID ?= $(if $(filter lab,$(ENV)),lab@inventories/lab/vault-password.txt,$(ENV)@prompt)
PLAYBOOK := ansible-playbook -i inventories/$(ENV) --vault-id $(VAULT_ID)
# What a target installs first. deps, the product: .venv with requirements.txt and the collections (scripts/bootstrap:
# no Debian package, no root). lab-deps, the lab and the tests: the Debian packages, the product, requirements-dev.txt
# and Certipy (scripts/bootstrap-lab: root on a fresh machine). Playbook runs against the lab need the lab's tools.
ENV_DEPS := $(if $(filter lab,$(ENV)),lab-deps,deps)

.PHONY: help deps lab-deps demo test lint unit integration molecule sanity bench lab-up lab-down lab-status clean \
	converge check verify remediate ee

help:
	@echo "make demo         set up everything, bring the lab up, run playbooks/site.yml against it"
	@echo "make test         lint, unit, integration (live lab), molecule; tears the lab down at the end"
	@echo "make deps         the product: .venv with requirements.txt, collections (no Debian package, no root)"
	@echo "make lab-deps     the lab and the tests: Debian packages (root), deps, requirements-dev.txt, Certipy"
	@echo "make lab-up | lab-down | lab-status    the lab (LAB_OPTS='--ca-key-size 4096' ...)"
	@echo "make converge | check | verify [ENV=<env>]   site.yml; site.yml --check --diff (drift); verify.yml"
	@echo "    (verify: scripts/verify, exit 0 pass, 100 fail, 101 passed with skips, 102 warn; VERIFY_OPTS='--tags area::dns')"
	@echo "make remediate [ENV=<env>] [REMEDIATE_OPTS=--check]   remediate.yml: drift per requirement, fixed"
	@echo "make lint | unit | integration | molecule | sanity | bench (bench brings the lab up and leaves it up)"
	@echo "make ee           the execution environment's build context for AWX (.cache/ee; offline) and its checks"

deps:
	@scripts/bootstrap

lab-deps:
	@scripts/bootstrap-lab

lab-up: lab-deps
	$(LAB) up $(LAB_OPTS)

lab-down:
	@if [ -x $(BIN)/python ]; then $(LAB) down; else python3 lab/lab.py down; fi

lab-status:
	@$(LAB) status

demo: lab-up
	$(PLAYBOOK) playbooks/site.yml --diff
	@echo
	@cat reports/lab/latest/summary.txt
	@echo
	@echo "Demo done: the lab is up (make lab-status), site.yml converged against it; the readiness report is"
	@echo "  $(CURDIR)/reports/lab/latest/readiness.html (and .json, .junit.xml beside it)."
	@echo "Find drift (writes nothing):  make check"
	@echo "Fix it:                       make converge"
	@echo "Prove readiness (scripts/verify lab keeps its exit status: 0 pass, 100 fail, 101 skips, 102 warn):  make verify"
	@echo "Drift found and fixed (scripts/remediate lab: 0 none, 10 fixed, 20 not fixed, 30 run failed):  make remediate"
	@echo "Tear the lab down:            make lab-down"

converge: $(ENV_DEPS)
	$(PLAYBOOK) playbooks/site.yml --diff

check: $(ENV_DEPS)
	$(PLAYBOOK) playbooks/site.yml --check --diff

# make keeps one distinction only: it fails on a failed requirement or a failed run, and succeeds on pass, passed with
# skips and warn (scripts/verify prints which); a scheduler that needs them apart calls scripts/verify itself
verify: $(ENV_DEPS)
	@scripts/verify $(ENV) $(if $(filter lab,$(ENV)),,--vault-id $(VAULT_ID)) $(VERIFY_OPTS); rc=$$?; \
		case $$rc in 0|101|102) exit 0 ;; *) exit $$rc ;; esac

remediate: $(ENV_DEPS)
	@scripts/remediate $(ENV) $(if $(filter lab,$(ENV)),,--vault-id $(VAULT_ID)) $(REMEDIATE_OPTS)

test: lab-deps
	@scripts/test

lint: lab-deps
	yamllint -s .
	ruff check .
	ruff format --check .
	shellcheck -S warning scripts/bootstrap scripts/bootstrap-lab scripts/test scripts/sanity scripts/units \
		scripts/collections \
		scripts/check-docs scripts/verify scripts/remediate .ci/run
	ansible-lint
	ansible-playbook -i inventories/lab $(LAB_VAULT) --syntax-check playbooks/site.yml
	ansible-playbook -i inventories/production.example --syntax-check playbooks/site.yml
	scripts/check-docs
	scripts/sanity
	$(MAKE) --no-print-directory ee

# The execution environment (execution-environment.yml, docs/awx.md): its build context, written offline, then checked
ee: lab-deps
	rm -rf .cache/ee
	ansible-builder create -f execution-environment.yml -c .cache/ee --output-filename Containerfile
	OOB_EE_CONTEXT=$(CURDIR)/.cache/ee pytest -q -rs tests/unit/test_execution_environment.py

# ansible-test units in the collection layout (scripts/units; JUnit XML in reports/junit-unit-*.xml). Quicker while
# editing, in place: pytest -q tests/unit
unit: lab-deps
	scripts/units

integration: lab-up
	pytest -q -rs --durations=20 --junitxml=reports/junit-integration.xml tests/integration

# default starts from a lab brought up fresh (destroy, create) and ends with it up, converged and verified (no destroy
# at the end); drift starts from that lab (its create finds it up, its converge changes nothing) and takes it down.
# The windows scenario runs from tests/integration (a JUnit skipped case without a host).
molecule: lab-deps
	molecule test -s default
	molecule test -s drift     # drift made behind the project's back: reported by a check run, fixed by one run

sanity: lab-deps
	scripts/sanity

bench: lab-up
	@echo "bench: uses the lab (brought up if it was down) and leaves it up, converged; it removes every object it creates"
	$(BIN)/python bench/ldap_ops.py
	$(BIN)/python bench/flow_probe.py
	$(BIN)/python bench/lab_updown.py
	@echo "bench: lab_updown took the lab down and up again: converge it, so that the no-op figures are no-op runs"
	mkdir -p .cache; ansible-playbook -i inventories/lab $(LAB_VAULT) playbooks/site.yml > .cache/bench-converge.log || \
		tail -25 .cache/bench-converge.log   # a failed readiness check is a verdict: side_by_side reports it
	$(BIN)/python bench/ldap_scaling.py   # docs/scaling.md: ad_container with 1, 2, 4, 8 domain entries
	# a-d side by side in one run (it runs bench/dns_noop.py and bench/amt_discovery.py); writes docs/performance.md.
	# Last: it exits 1 while a goal is not met (see the table it prints)
	$(BIN)/python bench/side_by_side.py
	@echo "bench: the lab is up and converged (make lab-down to stop it)"

clean: lab-down
	rm -rf .cache lab/.state
