"""The stack's images before `up`: pull what is missing, and when that fails, say what
to do instead of showing Docker's raw pull error (an offline host loads a bundle; a
mirror or private registry is named in WANDB_IMAGE)."""

from __future__ import annotations

from wandb_local_kit.core.errors import EXIT_FAILED, KitError
from wandb_local_kit.stack.compose import Compose, engine_available, image_present

PULL_TIMEOUT_S = 1800  # the W&B image is several GB


def stack_images(compose: Compose) -> list[str]:
    out = compose.run("config", "--images", capture=True).stdout
    return sorted({line.strip() for line in out.splitlines() if line.strip()})


def missing(images: list[str]) -> list[str]:
    return [i for i in images if not image_present(i)]


def ensure(compose: Compose, values: dict[str, str]) -> None:
    """Pulls the images this host lacks; raises a KitError naming the way out when
    some cannot be pulled."""
    if not engine_available():
        return  # no engine: not an image problem; `up` and preflight say so themselves
    need = missing(stack_images(compose))
    if not need:
        return
    print(f"pulling {', '.join(need)} (the W&B image is several GB)")
    result = compose.run(
        "pull", "--policy", "missing", capture=True, check=False, timeout=PULL_TIMEOUT_S
    )
    still = missing(need) if result.returncode != 0 else []
    if not still:
        return
    why = (result.stderr or "").strip().splitlines()
    server = values.get("WANDB_IMAGE", "")
    raise KitError(
        f"cannot pull {', '.join(still)}"
        + (f" ({why[-1][:300]})" if why else "")
        + ("; the W&B server image is among them" if server in still else ""),
        fix="an offline host: on a machine that can pull, run `wandb-kit bundle save "
        "FILE` (same .env), copy FILE here and run `wandb-kit bundle load FILE`; a mirror "
        "or private registry: set WANDB_IMAGE (and the other *_IMAGE settings) "
        "in .env to its name there; only trying the kit: see README, 'Trying the kit "
        "without the real image'",
        exit_code=EXIT_FAILED,
    )
