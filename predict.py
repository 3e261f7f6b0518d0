"""Predict with a checkpoint: `python predict.py ckpt_path=<checkpoint> data.predict_path=<file>`."""

import hydra
from omegaconf import DictConfig

from multiout.runtime.config_keys import exit_on_config_error
from multiout.runtime.run import run_predict


@hydra.main(version_base="1.3", config_path="conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    run_predict(cfg)


if __name__ == "__main__":
    with exit_on_config_error():
        main()
