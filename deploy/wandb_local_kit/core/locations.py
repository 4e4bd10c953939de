"""Where the kit's files are: the compose files it ships, and the user's own files.

Two layouts, one rule:
- a checkout (git clone, `pip install -e .`): the compose files are `compose/` next
  to the package, and the user's settings live beside them as today (`compose/.env`,
  `compose/certs/`, backups in `./backups`);
- an installed wheel (`pip install wandb-local-kit`): the compose files ship inside the
  package (read-only in site-packages) and the user's files live in a documented,
  user-writable home: `$WANDB_KIT_HOME`, else `$XDG_CONFIG_HOME/wandb-kit`
  (`~/.config/wandb-kit`), holding `.env`, `certs/` and `backups/`.

Standard library only: scripts/backup.py imports it on servers without the kit's
dependencies.
"""

from __future__ import annotations

import os
from pathlib import Path

# wandb_local_kit/core/locations.py -> wandb_local_kit/
PACKAGE_DIR = Path(__file__).resolve().parent.parent
# A checkout keeps the package in deploy/wandb_local_kit/, compose/ at the top.
CHECKOUT_ROOT = PACKAGE_DIR.parent.parent
CHECKOUT_COMPOSE_DIR = CHECKOUT_ROOT / "compose"
# In the wheel, compose/ is packaged as wandb_local_kit/_compose (pyproject's package-dir).
PACKAGED_COMPOSE_DIR = PACKAGE_DIR / "_compose"
HOME_ENV = "WANDB_KIT_HOME"


def is_checkout() -> bool:
    """True when the package runs from a source tree with its compose/ beside it."""
    return (CHECKOUT_COMPOSE_DIR / "compose.yaml").is_file() and (
        CHECKOUT_ROOT / "pyproject.toml"
    ).is_file()


def compose_dir() -> Path:
    """The directory of compose.yaml and its overlays."""
    if is_checkout():
        return CHECKOUT_COMPOSE_DIR
    if (PACKAGED_COMPOSE_DIR / "compose.yaml").is_file():
        return PACKAGED_COMPOSE_DIR
    try:  # an installation that is not a plain directory tree (zip, custom loader)
        from importlib.resources import files

        return Path(str(files("wandb_local_kit") / "_compose"))
    except (ImportError, TypeError):  # pragma: no cover - defensive
        return PACKAGED_COMPOSE_DIR


def home(for_compose_dir: Path | None = None) -> Path:
    """The user-writable directory of `.env`, `certs/` and the lock file.

    A compose directory the user chose (--compose-dir) or the checkout's keeps its
    settings beside it, as it always did; the packaged one never does."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    chosen = (for_compose_dir or compose_dir()).resolve()
    if chosen != PACKAGED_COMPOSE_DIR.resolve():
        return chosen
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "wandb-kit"


def default_env_file(for_compose_dir: Path | None = None) -> Path:
    return home(for_compose_dir) / ".env"


def default_backups_dir(for_compose_dir: Path | None = None) -> Path:
    """`./backups` beside compose/ in a checkout (as before); `HOME/backups` otherwise."""
    where = home(for_compose_dir)
    if where.resolve() == (for_compose_dir or compose_dir()).resolve():
        return where.parent / "backups"
    return where / "backups"
