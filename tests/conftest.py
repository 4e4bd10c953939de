"""Session-wide test isolation: no test reads or writes the wandb SDK's global settings
of the user running the tests (~/.config/wandb/settings). A base_url left there by one
test (or by the developer) would point another test's SDK at a server long gone."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("WANDB_CONFIG_DIR", tempfile.mkdtemp(prefix="kit-tests-wandb-config-"))
