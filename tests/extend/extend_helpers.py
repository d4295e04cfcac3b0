"""Test helpers: a byte-level BPE trained on real text (stdlib sources) and tiny transformers Llama
checkpoints."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def stdlib_text(n_files: int = 6) -> list[str]:
    lib = Path(sysconfig.get_paths()["stdlib"])
    names = ["textwrap.py", "argparse.py", "csv.py", "difflib.py", "heapq.py", "fractions.py"][
        :n_files
    ]
    return [(lib / n).read_text() for n in names]


def train_bpe(vocab_size: int = 700) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(stdlib_text(), trainer)
    return tok


def save_hf_tokenizer(tok: Tokenizer, out: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|im_start|>"
    )
    fast.save_pretrained(str(out))


def make_tiny_llama(
    out: Path,
    tok: Tokenizer,
    tie: bool = False,
    dtype: str = "float32",
    vocab: int | None = None,
    shard: str | None = None,
) -> Path:
    """A randomly initialised 2-layer Llama with the tokenizer's vocabulary, in HF layout."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    n = vocab or tok.get_vocab_size()
    cfg = LlamaConfig(
        vocab_size=n,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        tie_word_embeddings=tie,
        bos_token_id=tok.token_to_id("<|im_start|>"),
        eos_token_id=tok.token_to_id("<|endoftext|>"),
    )
    model = LlamaForCausalLM(cfg).to(getattr(torch, dtype)).eval()
    kwargs = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(str(out), **kwargs)
    save_hf_tokenizer(tok, out)
    return out


def read_json(p: Path) -> dict:
    return json.loads(p.read_text())


# Gemma-3n, tiny: text ids [0, 256), vision [256, 264), audio [264, 272) as in Gemma3nConfig (where
# they are 262144 / 128 / 128); the multimodal token ids sit where Gemma-3n puts them
G3N_TEXT, G3N_VISION, G3N_AUDIO = 256, 8, 8


def gemma3n_config():
    from transformers import Gemma3nConfig

    t, v = G3N_TEXT, G3N_VISION
    return Gemma3nConfig(
        text_config=dict(
            vocab_size=t + v + G3N_AUDIO,
            vocab_size_per_layer_input=t,
            hidden_size=16,
            hidden_size_per_layer_input=4,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            head_dim=8,
            num_kv_shared_layers=0,
            laurel_rank=4,
            layer_types=["sliding_attention", "full_attention"],
            activation_sparsity_pattern=[0.0, 0.0],
            sliding_window=16,
            max_position_embeddings=64,
            altup_num_inputs=2,
            pad_token_id=0,
            eos_token_id=1,
            bos_token_id=2,
        ),
        vision_config=dict(vocab_size=v, vocab_offset=t, hidden_size=12),
        audio_config=dict(
            vocab_size=G3N_AUDIO,
            vocab_offset=t + v,
            hidden_size=12,
            conf_num_hidden_layers=1,
            conf_num_attention_heads=2,
            sscp_conv_channel_size=[4, 4],
            conf_conv_kernel_size=3,
            conf_attention_chunk_size=4,
            conf_attention_context_left=5,
            conf_attention_context_right=0,
        ),
        boi_token_id=t - 2,
        boa_token_id=t - 1,
        eoi_token_id=t,
        image_token_id=t + 1,
        eoa_token_id=t + v,
        audio_token_id=t + v + 1,
    )


def without_vision_tower():
    """Gemma-3n's vision tower is a timm model; these tests need none of its weights (the embedders
    under test are Gemma-3n's own), so it is built as an empty module when timm is missing."""
    from unittest import mock

    import torch
    from transformers.models.gemma3n import modeling_gemma3n as mg

    real = mg.AutoModel.from_config

    def from_config(cfg, *args, **kwargs):
        if getattr(cfg, "model_type", "") in ("gemma3n_vision", "timm_wrapper"):
            try:
                return real(cfg, *args, **kwargs)
            except ImportError:
                return torch.nn.Module()
        return real(cfg, *args, **kwargs)

    return mock.patch.object(mg.AutoModel, "from_config", from_config)


def gemma3n_tokenizer() -> Tokenizer:
    """A word-level tokenizer over Gemma-3n's text range (specials, image/audio markers, words), the
    vision and audio tokens added after it, as Gemma-3n's tokenizer.json has them."""
    from tokenizers import AddedToken
    from tokenizers.pre_tokenizers import WhitespaceSplit

    t, v = G3N_TEXT, G3N_VISION
    names = {0: "<pad>", 1: "<eos>", 2: "<bos>", 3: "<unk>", t - 2: "<start_of_image>"}
    names[t - 1] = "<start_of_audio>"
    tok = Tokenizer(models.WordLevel({names.get(i, f"w{i}"): i for i in range(t)}, "<unk>"))
    tok.pre_tokenizer = WhitespaceSplit()
    vision = ["<end_of_image>", "<image_soft_token>"] + [f"<vision_{i}>" for i in range(2, v)]
    audio = ["<end_of_audio>", "<audio_soft_token>"] + [f"<audio_{i}>" for i in range(2, G3N_AUDIO)]
    tok.add_special_tokens([AddedToken(x, special=True) for x in vision + audio])
    assert tok.token_to_id("<audio_soft_token>") == t + v + 1
    return tok


def make_tiny_gemma3n(out: Path) -> Path:
    """Synthetic Gemma-3n weights with its tensor names (embed_tokens, embed_tokens_per_layer,
    embed_vision/embed_audio.embedding) and config, tokenizer files included."""
    import torch
    from transformers import PreTrainedTokenizerFast
    from transformers.models.gemma3n import modeling_gemma3n as mg

    with without_vision_tower():
        torch.manual_seed(0)
        model = mg.Gemma3nForConditionalGeneration(gemma3n_config()).eval()
    model.save_pretrained(str(out))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=gemma3n_tokenizer(),
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    fast.save_pretrained(str(out))
    return out


def load_gemma3n(path: Path):
    from transformers.models.gemma3n import modeling_gemma3n as mg

    with without_vision_tower():
        return mg.Gemma3nForConditionalGeneration.from_pretrained(str(path)).eval()


def torch_tensors(directory: Path) -> dict[str, np.ndarray]:
    """Every tensor of a directory's safetensors files, read by safetensors' torch reader (not
    zett's), as float32 numpy."""
    from safetensors import safe_open

    out = {}
    for f in sorted(Path(directory).glob("*.safetensors")):
        with safe_open(str(f), "pt") as h:
            out.update({k: h.get_tensor(k).float().numpy() for k in h.keys()})
    return out
