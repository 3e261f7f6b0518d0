"""Test a checkpoint: `python evaluate.py ckpt_path=<checkpoint> [hydra overrides]`."""

import hydra
from omegaconf import DictConfig

from multiout.runtime.config_keys import exit_on_config_error
from multiout.runtime.run import run_evaluate


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    run_evaluate(cfg)


if __name__ == "__main__":
    with exit_on_config_error():
        main()
