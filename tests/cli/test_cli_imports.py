"""What the command line loads: ``pyworkflow worker run`` is a CLI command, so every
module the CLI imports is resident in every worker process.

pydantic costs a worker process ~6 MB (measured: the bench's worker RSS went 181 ->
203 MB when the argument check imported it at module level); only ``workflows run``'s
argument check uses it, so it is imported when that check runs.
"""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_cli_loads_no_pydantic() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, pyworkflow.cli; "
         "print('pydantic' in sys.modules)"], capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "False", probe.stdout + probe.stderr
