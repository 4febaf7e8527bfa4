"""Training: the model-agnostic trainer, its configuration, checkpoints and metrics.

    from rnnlab.training import Trainer, TrainConfig, load_model, save_checkpoint

See ``rnnlab.training.trainer`` for the loop and a usage example, ``contract`` for what a
model must provide, ``checkpoint`` for the on-disk format, ``config`` for TOML/overrides.
"""

from rnnlab.training.callbacks import Callback, GradientNormRecorder, StepInfo, TensorBoardLogger
from rnnlab.training.checkpoint import recover_checkpoint, save_checkpoint
from rnnlab.training.checkpoint_format import (
    Checkpoint,
    CheckpointError,
    CheckpointNotFound,
    LoadedModel,
)
from rnnlab.training.checkpoint_load import (
    load_checkpoint,
    load_model,
    restore_model_state,
    verify_checkpoint,
)
from rnnlab.training.config import (
    ConfigError,
    TrainConfig,
    apply_overrides,
    from_dict,
    load_config,
    load_toml,
    parse_value,
    save_config,
    to_dict,
)
from rnnlab.training.contract import (
    StepOutput,
    TrainableModel,
    check_model_contract,
    summarize_loss,
)
from rnnlab.training.evaluation import evaluate, move_to_device, resolve_device
from rnnlab.training.metrics import (
    JSONLLogger,
    Throughput,
    Totals,
    perplexity,
    read_jsonl,
    write_metrics_json,
)
from rnnlab.training.optim import LRSchedule, build_optimizer, build_schedule
from rnnlab.training.registry import (
    UnknownModelType,
    build_model,
    get_model_class,
    register_model,
    register_vocabulary,
    registered_models,
)
from rnnlab.training.resume import ResumeError, TrainerState
from rnnlab.training.seeding import (
    deterministic_mode,
    get_rng_state,
    seed_everything,
    set_rng_state,
)
from rnnlab.training.trainer import (
    NonFiniteError,
    Trainer,
    TrainingDiverged,
    TrainingInterrupted,
)

__all__ = [
    "Callback",
    "Checkpoint",
    "CheckpointError",
    "CheckpointNotFound",
    "ConfigError",
    "GradientNormRecorder",
    "JSONLLogger",
    "LoadedModel",
    "LRSchedule",
    "NonFiniteError",
    "ResumeError",
    "StepInfo",
    "StepOutput",
    "TensorBoardLogger",
    "Throughput",
    "Totals",
    "TrainConfig",
    "TrainableModel",
    "Trainer",
    "TrainerState",
    "TrainingDiverged",
    "TrainingInterrupted",
    "UnknownModelType",
    "apply_overrides",
    "build_model",
    "build_optimizer",
    "build_schedule",
    "check_model_contract",
    "deterministic_mode",
    "evaluate",
    "from_dict",
    "get_model_class",
    "get_rng_state",
    "load_checkpoint",
    "load_config",
    "load_model",
    "load_toml",
    "move_to_device",
    "parse_value",
    "perplexity",
    "read_jsonl",
    "recover_checkpoint",
    "register_model",
    "register_vocabulary",
    "registered_models",
    "resolve_device",
    "restore_model_state",
    "save_checkpoint",
    "save_config",
    "seed_everything",
    "set_rng_state",
    "summarize_loss",
    "to_dict",
    "verify_checkpoint",
    "write_metrics_json",
]
