"""Train a multi-output classifier: `python train.py [hydra overrides]`."""

import hydra
from omegaconf import DictConfig

from multiout.runtime.config_keys import exit_on_config_error
from multiout.runtime.run import run_train


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    return run_train(cfg)


if __name__ == "__main__":
    with exit_on_config_error():
        main()
