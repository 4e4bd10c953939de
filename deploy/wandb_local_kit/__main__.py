import sys

from wandb_local_kit.cli import main

sys.exit(main())
