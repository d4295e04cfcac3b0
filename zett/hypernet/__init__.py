"""zett.hypernet: the hypernetwork that predicts embeddings for any tokenizer from its tokens' surface
forms under the source tokenizer — the model, its training (`zett train`) and prediction."""

from zett.hypernet.batch import identity_batch
from zett.hypernet.checkpoint import load_hypernet, read_hypernet_meta, save_hypernet
from zett.hypernet.config import HypernetConfig
from zett.hypernet.data import TrainBatches
from zett.hypernet.global_batch import DataParts, data_parts, global_batch
from zett.hypernet.model import Hypernet, HypernetOutput, fit_output_rescalers
from zett.hypernet.optim import OptimConfig, learning_rate_schedule, make_optimizer
from zett.hypernet.predict import predict_embeddings, predict_surface, predict_tokens
from zett.hypernet.step import eval_step, train_step
from zett.hypernet.train import build_hypernet, load_base, train
from zett.hypernet.train_config import DataConfig, LangTokenizer, TrainConfig
from zett.hypernet.validation import identity_reconstruction, validate

__all__ = [
    "DataConfig",
    "DataParts",
    "Hypernet",
    "HypernetConfig",
    "HypernetOutput",
    "LangTokenizer",
    "OptimConfig",
    "TrainBatches",
    "TrainConfig",
    "build_hypernet",
    "data_parts",
    "eval_step",
    "fit_output_rescalers",
    "global_batch",
    "identity_batch",
    "identity_reconstruction",
    "learning_rate_schedule",
    "load_base",
    "load_hypernet",
    "make_optimizer",
    "predict_embeddings",
    "predict_surface",
    "predict_tokens",
    "read_hypernet_meta",
    "save_hypernet",
    "train",
    "train_step",
    "validate",
]
