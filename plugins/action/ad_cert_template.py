# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin oob.prep.ad_cert_template (the module plugins/modules/ad_cert_template.py documents it): its main() in
the task's worker process on the controller, else the module on the host (plugins/plugin_utils/in_process.py,
docs/adr/0012)."""

from __future__ import annotations

from ansible_collections.oob.prep.plugins.plugin_utils.in_process import ControllerModuleAction as ActionModule

__all__ = ["ActionModule"]
