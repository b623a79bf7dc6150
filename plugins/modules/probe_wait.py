#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The documentation of the action plugin oob.prep.probe_wait (plugins/action/probe_wait.py): it reads the job's
# result file on the host the probe ran on, as ansible.builtin.async_status does; this file transfers nothing.

from __future__ import annotations

DOCUMENTATION = r"""
module: probe_wait
short_description: Wait for a probe started in the background, give its result, leave no job file behind
description:
  - Verify starts its probes (DHCP offers, flow probes, the AMT discovery, the provisioning path) in the background
    (C(async), C(poll 0)) so that their waits for answers overlap, and reads each one with this action, delegated to
    the host the probe ran on.
  - Reads the job's result file in the host's async directory (what M(ansible.builtin.async_status) reads, parsed
    the same way) until the job has finished or O(timeout) has passed, looking every O(delay) seconds inside one
    task execution, then removes the file, so that scheduled runs leave nothing behind.
  - On a POSIX host each look is one shell command (C(cat)), not a module run (no Python start-up and no module
    build per look). On a host whose shell is not POSIX it runs M(ansible.builtin.async_status) instead.
  - The result is the probe module's own result (its checks, or its C(msg) when it failed), with RV(finished) and
    RV(cleaned). A job that had not finished in time is a failed result saying so; the job file is then left for
    a later look.
  - Pair it with the filter P(oob.prep.oob_job_results#filter), which puts each result back with the loop item the
    probe was started for, and keeps the probes that never started (host unreachable, skipped) as they were.
version_added: "1.3.0"
author: oob-prep contributors (@oob-prep)
options:
  job:
    description: What the task that started the probe registered for this probe (one loop item's result), with its
      C(ansible_job_id).
    type: dict
    required: true
  timeout:
    description: Seconds to wait for the probe to finish.
    type: float
    default: 600
  delay:
    description: Seconds between two looks at the job.
    type: float
    default: 0.1
attributes:
  check_mode:
    description: The same in check mode (the probe only reads; the file removed is the one its start wrote).
    support: full
  diff_mode:
    description: Nothing to show; it changes no state.
    support: none
  platform:
    description: Every host a probe runs on (a POSIX shell; another shell through async_status).
    support: full
    platforms: posix
notes:
  - An action plugin; it runs C(cat) and C(rm -f) on the delegated host (M(ansible.builtin.async_status) where the
    shell is not POSIX), nothing is transferred.
seealso:
  - module: ansible.builtin.async_status
"""

EXAMPLES = r"""
- name: Start the flow probes
  oob.prep.network_flow_probe:
    matrix: "{{ item.matrix }}"
  delegate_to: "{{ item.host }}"
  loop: "{{ probes }}"
  async: 600
  poll: 0
  register: started

- name: Wait for them
  oob.prep.probe_wait:
    job: "{{ item }}"
  delegate_to: "{{ item.item.host }}"
  loop: "{{ started.results | selectattr('ansible_job_id', 'defined') }}"
  register: waited
  failed_when: false

- name: Their rows
  ansible.builtin.set_fact:
    rows: >-
      {{ started | oob.prep.oob_job_results(waited)
         | oob.prep.oob_read_rows(['network_ports'], 'the probe from {host}') }}
"""

RETURN = r"""
finished:
  description: Whether the probe had finished (false when the wait gave up).
  returned: always
  type: bool
cleaned:
  description: Whether the job's result file was removed from the host.
  returned: always
  type: bool
ansible_job_id:
  description: The job waited for.
  returned: always
  type: str
msg:
  description: Why the wait or the probe failed.
  returned: on failure
  type: str
"""
