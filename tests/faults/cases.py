"""The fault table: one row per bad input or fault, run through `zett.cli.main.main` in-process.

A case is: the command line (`{name}` fields are the world's files, `{tmp}` the case's own directory,
`{out}` its output path, and whatever its setup returns), a setup that spoils a private copy of an
input, the exit code, a regex the one error line must match, the text that line must name (a file,
a field) and the paths that must not exist afterwards. Every case also checks that no traceback was
printed and that no temporary directory or file was left anywhere under `{tmp}`."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Case:
    command: str
    name: str
    argv: str
    code: int = 2
    message: str = ""  # regex on the `zett CMD: error:` line (or on stderr for code 0)
    names: str = ""  # must appear in that line (formatted like argv)
    setup: Callable[[Env], dict[str, str]] | None = None
    absent: tuple[str, ...] = ("{out}",)  # paths that must not exist afterwards
    env: dict[str, str] = field(default_factory=dict)
    slow: bool = False

    @property
    def id(self) -> str:
        return f"{self.command}-{self.name}"


@dataclass
class Env:
    """What a case's fields are formatted with."""

    world: object
    tmp: Path

    def fields(self, extra: dict[str, str]) -> dict[str, str]:
        w = self.world
        d = {k: str(getattr(w, k)) for k in w.__dataclass_fields__ if getattr(w, k) is not None}
        d.update(tmp=str(self.tmp), out=str(self.tmp / "out"))
        d.update(extra)
        return d


# --- setups: each spoils a private copy under env.tmp and names it ------------------------------


def model_copy(spoil: Callable[[Path], None]) -> Callable[[Env], dict[str, str]]:
    def setup(env: Env) -> dict[str, str]:
        m = env.world.copy("model", env.tmp)
        spoil(m)
        return {"m": str(m)}

    return setup


def file_copy(name: str, spoil: Callable[[Path], None]) -> Callable[[Env], dict[str, str]]:
    def setup(env: Env) -> dict[str, str]:
        src = getattr(env.world, name)
        p = env.world.copy(name, env.tmp)
        spoil(p)
        return {"f": str(p), "d": str(p if src.is_dir() else p.parent)}

    return setup


def write(path: str, content: str | bytes) -> Callable[[Env], dict[str, str]]:
    def setup(env: Env) -> dict[str, str]:
        p = env.tmp / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
        return {"f": str(p)}

    return setup


def truncate(rel: str, keep: float = 0.5) -> Callable[[Path], None]:
    def spoil(d: Path) -> None:
        p = d / rel if rel else d
        os.truncate(p, int(p.stat().st_size * keep))

    return spoil


def overwrite(rel: str, content: str | bytes) -> Callable[[Path], None]:
    def spoil(d: Path) -> None:
        p = d / rel if rel else d
        p.write_bytes(content if isinstance(content, bytes) else content.encode())

    return spoil


def remove(rel: str) -> Callable[[Path], None]:
    return lambda d: (d / rel).unlink()


def edit_json(rel: str, change: Callable[[dict], None]) -> Callable[[Path], None]:
    def spoil(d: Path) -> None:
        data = json.loads((d / rel).read_text())
        change(data)
        (d / rel).write_text(json.dumps(data))

    return spoil


def to_pickle(d: Path) -> None:
    (d / "model.safetensors").unlink()
    (d / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")  # a pickle (of the int 1)


def occupied(env: Env) -> dict[str, str]:
    (env.tmp / "out").mkdir()
    (env.tmp / "out" / "keep.txt").write_text("mine")
    return {}


def a_file(env: Env) -> dict[str, str]:
    (env.tmp / "out").write_text("a file")
    return {}


def gguf_truncated(env: Env) -> dict[str, str]:
    p = env.tmp / "trunc.gguf"
    with open(env.world.gguf, "rb") as f:
        p.write_bytes(f.read(3_000_000))  # header and metadata whole, tensor data cut
    return {"g": str(p)}


def gguf_header_cut(env: Env) -> dict[str, str]:
    p = env.tmp / "cut.gguf"
    with open(env.world.gguf, "rb") as f:
        p.write_bytes(f.read(5_000))  # ends inside the metadata (the tokenizer's vocabulary)
    return {"g": str(p)}


def padded_model(env: Env) -> dict[str, str]:
    """The model extended once with --pad-to-multiple, so its layout has a reserved padding tail."""
    from zett.cli.main import main

    m = env.tmp / "padded"
    argv = ["extend", str(env.world.model), str(m), "--tokens", "<P>", "--pad-to-multiple", "64"]
    assert main(argv) == 0
    return {"m": str(m)}


def yaml_with(*lines: str) -> Callable[[Env], dict[str, str]]:
    """A training config: the world's, workdir in the case directory, then `lines` appended."""

    def setup(env: Env) -> dict[str, str]:
        text = env.world.train_yaml.read_text() + f"workdir: {env.tmp / 'run'}\n" + "\n".join(lines)
        p = env.tmp / "train.yaml"
        p.write_text(text + "\n")
        return {"cfg": str(p), "run": str(env.tmp / "run")}

    return setup


def run_with_checkpoints() -> Callable[[Env], dict[str, str]]:
    """`yaml_with()`, plus a workdir that already holds a checkpoint of that config's run (its
    config.yaml as `zett train` writes it, a non-empty checkpoints/)."""
    base = yaml_with()

    def setup(env: Env) -> dict[str, str]:
        from zett.config import load_config, save_config
        from zett.hypernet import TrainConfig

        fields = base(env)
        run = Path(fields["run"])
        (run / "checkpoints" / "4").mkdir(parents=True)
        (run / "checkpoints" / "4" / "state").write_text("a checkpoint")
        save_config(load_config(TrainConfig, fields["cfg"]), run / "config.yaml")
        return fields

    return setup


T = "transfer --model {model} --tokenizer {target} --method fvt --out {out} --quiet"
TM = "transfer --model {m} --tokenizer {target} --method fvt --out {out} --quiet"
TH = "transfer --model {model} --tokenizer {target} --hypernet {d} --out {out} --quiet"
TT = "transfer --model {model} --tokenizer {f} --method fvt --out {out} --quiet"
E = "extend {model} {out} --tokens <X> <Y>"
EM = "extend {m} {out} --tokens <X> <Y>"
C = "convert {m} {out}"
S = "sample {text} {out} --vocab-size 300"
R = "train {cfg}"

CASES: list[Case] = [
    # --- transfer: the model ---------------------------------------------------------------
    Case(
        "transfer",
        "model-missing",
        T.replace("{model}", "{tmp}/nope"),
        message="no such file",
        names="{tmp}/nope",
    ),
    Case(
        "transfer",
        "model-no-config",
        TM,
        setup=model_copy(remove("config.json")),
        message="no config.json",
        names="{m}",
    ),
    Case(
        "transfer",
        "config-invalid-json",
        TM,
        setup=model_copy(overwrite("config.json", "{x")),
        message="invalid JSON",
        names="{m}/config.json",
    ),
    Case(
        "transfer",
        "config-not-object",
        TM,
        setup=model_copy(overwrite("config.json", "[1]")),
        message="must be a JSON object",
        names="{m}/config.json",
    ),
    Case(
        "transfer",
        "config-vocab-mismatch",
        TM,
        setup=model_copy(edit_json("config.json", lambda c: c.update(vocab_size=5))),
        message="has 70[0-9] rows but config.json says vocab_size=5",
        names="{m}",
    ),
    Case(
        "transfer",
        "safetensors-truncated",
        TM,
        setup=model_copy(truncate("model.safetensors")),
        message="model.safetensors",
        names="{m}/model.safetensors",
    ),
    Case(
        "transfer",
        "safetensors-garbage",
        TM,
        setup=model_copy(overwrite("model.safetensors", b"\xff" * 64)),
        message="implausible|too short|not JSON",
        names="{m}/model.safetensors",
    ),
    Case(
        "transfer",
        "safetensors-empty",
        TM,
        setup=model_copy(overwrite("model.safetensors", b"")),
        message="too short",
        names="{m}/model.safetensors",
    ),
    Case(
        "transfer",
        "pickle-refused",
        TM,
        setup=model_copy(to_pickle),
        message="pickle weights .*pytorch_model.bin.* safetensors",
        names="{m}",
    ),
    Case(
        "transfer",
        "source-tokenizer-missing",
        TM,
        setup=model_copy(lambda d: [(d / n).unlink() for n in ("tokenizer.json",)]),
        message="source tokenizer cannot be loaded",
        names="{m}",
    ),
    Case(
        "transfer",
        "model-gguf-truncated",
        T.replace("{model}", "{g}"),
        setup=gguf_truncated,
        message="trunc.gguf",
        names="{g}",
    ),
    Case(
        "transfer",
        "model-gguf-garbage",
        T.replace("{model}", "{f}"),
        setup=write("bad.gguf", b"GGUF" + b"\x00" * 20),
        message="bad.gguf",
        names="{f}",
    ),
    # --- transfer: the target tokenizer ------------------------------------------------------
    Case(
        "transfer",
        "tokenizer-missing",
        TT.replace("{f}", "{tmp}/none.json"),
        message="target tokenizer .*cannot be loaded",
        names="{tmp}/none.json",
    ),
    Case(
        "transfer",
        "tokenizer-invalid-json",
        TT,
        setup=write("tok.json", "{not json"),
        message="target tokenizer .*cannot be loaded",
        names="{f}",
    ),
    Case(
        "transfer",
        "tokenizer-empty-vocabulary",
        TT.replace("{f}", "{empty_tok}"),
        message="vocabulary is empty",
        names="{empty_tok}",
    ),
    Case(
        "transfer",
        "tokenizer-gguf-truncated",
        TT.replace("{f}", "{g}"),
        setup=gguf_header_cut,
        message="target tokenizer .*cannot be loaded",
        names="{g}",
    ),
    Case(
        "transfer",
        "tokenizer-gguf-garbage",
        TT,
        setup=write("t.gguf", b"\x00" * 100),
        message="target tokenizer .*cannot be loaded",
        names="{f}",
    ),
    Case(
        "transfer",
        "tokenizer-binary-file",
        TT,
        setup=write("t.model", os.urandom(200)),
        message="target tokenizer .*cannot be loaded",
        names="{f}",
    ),
    # --- transfer: method, hypernet, options -------------------------------------------------
    Case("transfer", "method-unknown", T.replace("fvt", "magic"), message="unknown method 'magic'"),
    Case("transfer", "method-option-unknown", T.replace("fvt", "fvt,bogus=1"), message="bogus"),
    Case("transfer", "method-opt-malformed", T + " --method-opt novalue", message="novalue"),
    Case("transfer", "focus-without-texts", T.replace("fvt", "focus"), message="texts"),
    Case(
        "transfer",
        "focus-texts-missing",
        T.replace("fvt", "focus") + " --texts {tmp}/no.txt",
        message="no.txt",
        names="{tmp}/no.txt",
    ),
    Case(
        "transfer",
        "hypernet-missing",
        TH.replace("{d}", "{tmp}/nohn"),
        message="nohn",
        names="{tmp}/nohn",
    ),
    Case(
        "transfer",
        "hypernet-other-base",
        TH.replace("{d}", "{hypernet_other}"),
        message="source embeddings differ",
        names="{hypernet_other}",
    ),
    Case(
        "transfer",
        "hypernet-truncated",
        TH,
        setup=file_copy("hypernet", truncate("hypernet.safetensors")),
        message="hypernet.safetensors",
        names="{d}/hypernet.safetensors",
    ),
    Case(
        "transfer",
        "hypernet-meta-invalid",
        TH,
        setup=file_copy("hypernet", overwrite("hypernet.json", "{")),
        message="hypernet.json",
        names="{d}/hypernet.json",
    ),
    Case(
        "transfer",
        "hypernet-weights-missing",
        TH,
        setup=file_copy("hypernet", remove("hypernet.safetensors")),
        message="hypernet.safetensors",
        names="{d}",
    ),
    Case(
        "transfer",
        "max-shard-size-negative",
        T + " --max-shard-size -1",
        message="--max-shard-size must be a positive",
    ),
    Case(
        "transfer",
        "max-shard-size-zero",
        T + " --max-shard-size 0",
        message="--max-shard-size must be a positive",
    ),
    Case("transfer", "dtype-unknown", T + " --dtype int8", message="invalid choice: 'int8'"),
    Case(
        "transfer",
        "out-missing-arg",
        "transfer --model {model} --tokenizer {target} --method fvt",
        message="--out",
    ),
    Case(
        "transfer",
        "out-not-empty",
        T,
        setup=occupied,
        message="not empty.*--overwrite",
        names="{out}",
        absent=(),
    ),
    Case("transfer", "out-is-a-file", T, setup=a_file, message="exists", names="{out}", absent=()),
    # --- sample ------------------------------------------------------------------------------
    Case(
        "sample",
        "text-missing",
        S.replace("{text}", "{tmp}/no.txt"),
        message="No such file",
        names="{tmp}/no.txt",
    ),
    Case(
        "sample",
        "text-not-utf8",
        S.replace("{text}", "{f}"),
        setup=write("latin1.txt", "Grüße aus Köln\n".encode("latin-1")),
        message="not UTF-8",
        names="{f}",
    ),
    Case(
        "sample",
        "text-empty",
        S.replace("{text}", "{f}"),
        setup=write("e.txt", "\n\n"),
        message="no text",
        names="{f}",
    ),
    Case(
        "sample",
        "text-is-a-directory",
        S.replace("{text}", "{tmp}"),
        message="directory",
        names="{tmp}",
    ),
    Case(
        "sample",
        "out-exists",
        S,
        setup=write("out/tokenizer.json", "{}"),
        message="exists; pass --overwrite",
        names="{out}/tokenizer.json",
        absent=(),
    ),
    Case(
        "sample",
        "fewer-tokens-strict",
        S.replace("300", "100000") + " --strict",
        message="yields only [0-9]+ distinct tokens of the 100000 asked",
        names="{text}",
    ),
    Case(
        "sample",
        "fewer-tokens-warns",
        S.replace("300", "100000"),
        code=0,
        message=r"warning: .*yields only [0-9]+ distinct tokens of the 100000 asked",
        names="{text}",
        absent=(),
    ),
    Case("sample", "vocab-size-zero", S.replace("300", "0"), message="vocab_size must be positive"),
    Case("sample", "max-chars-zero", S + " --max-chars 0", message="--max-chars"),
    Case(
        "sample",
        "config-invalid-yaml",
        S + " --config {f}",
        setup=write("s.yaml", "a: [1,\n"),
        message=r"s.yaml:[0-9]+: invalid YAML",
        names="{f}",
    ),
    Case(
        "sample",
        "config-unknown-field",
        S + " --config {f}",
        setup=write("s.yaml", "sizes: 3\n"),
        message=r"unknown field\(s\) \['sizes'\]",
        names="{f}",
    ),
    Case("sample", "set-bad-type", S + " --set window=many", message="window: expected int"),
    Case(
        "sample", "base-missing", S + " --base {tmp}/nobase", message="nobase", names="{tmp}/nobase"
    ),
    # --- extend ------------------------------------------------------------------------------
    Case(
        "extend",
        "src-missing",
        E.replace("{model}", "{tmp}/nope"),
        message="does not exist",
        names="{tmp}/nope",
    ),
    Case("extend", "no-tokens", "extend {model} {out}", message="no tokens to add"),
    Case(
        "extend",
        "pattern-without-count",
        E + " --pattern <A_{{i}}>",
        message="--pattern and --count go together",
    ),
    Case(
        "extend",
        "count-negative",
        "extend {model} {out} --pattern <A_{{i}}> --count -5",
        message="count must be positive",
    ),
    Case(
        "extend",
        "pad-to-multiple-zero",
        E + " --pad-to-multiple 0",
        message="--pad-to-multiple must be a positive integer",
    ),
    Case(
        "extend",
        "pad-to-multiple-negative",
        E + " --pad-to-multiple -64",
        message="--pad-to-multiple must be a positive integer",
    ),
    Case(
        "extend",
        "token-already-present",
        "extend {model} {out} --tokens <|endoftext|>",
        message="already in the vocabulary",
    ),
    Case(
        "extend",
        "tokens-file-missing",
        "extend {model} {out} --tokens-file {tmp}/t.txt",
        message="t.txt",
        names="{tmp}/t.txt",
    ),
    Case(
        "extend",
        "dst-missing",
        "extend {model} --tokens <X>",
        message="an output directory is needed",
    ),
    Case(
        "extend",
        "out-not-empty",
        E,
        setup=occupied,
        message="not empty.*--overwrite",
        names="{out}",
        absent=(),
    ),
    Case(
        "extend",
        "config-invalid-json",
        EM,
        setup=model_copy(overwrite("config.json", "{x")),
        message="invalid JSON",
        names="{m}/config.json",
    ),
    Case(
        "extend",
        "provenance-not-object",
        EM,
        setup=model_copy(overwrite("zett_provenance.json", "[1]")),
        message="must be a JSON object",
        names="{m}/zett_provenance.json",
    ),
    Case(
        "extend",
        "tokenizer-missing",
        EM,
        setup=model_copy(remove("tokenizer.json")),
        message="no tokenizer.json",
        names="{m}/tokenizer.json",
    ),
    Case(
        "extend",
        "tokenizer-invalid",
        EM,
        setup=model_copy(overwrite("tokenizer.json", "{")),
        message="cannot load tokenizer",
        names="{m}/tokenizer.json",
    ),
    Case(
        "extend",
        "safetensors-truncated",
        EM,
        setup=model_copy(truncate("model.safetensors")),
        message="model.safetensors",
        names="{m}/model.safetensors",
    ),
    Case(
        "extend",
        "pickle-refused",
        EM,
        setup=model_copy(to_pickle),
        message="pickle weights",
        names="{m}",
    ),
    Case(
        "extend",
        "layout-file-invalid",
        EM,
        setup=model_copy(overwrite("vocab_layout.json", "[")),
        message="invalid layout",
        names="{m}/vocab_layout.json",
    ),
    Case(
        "extend", "init-tokens-missing", E + " --init special_tokens", message="needs --init-tokens"
    ),
    Case(
        "extend",
        "init-token-unknown",
        E + " --init special_tokens --init-tokens <nope>",
        message="'<nope>' is not a token",
    ),
    Case(
        "extend",
        "init-hypernet-without-dir",
        E + " --init hypernet",
        message="needs a trained zett hypernetwork",
    ),
    Case(
        "extend",
        "segment-reserved",
        EM + " --segment padding",
        setup=padded_model,
        message="segment 'padding' is reserved padding",
    ),
    Case(
        "extend",
        "src-gguf-garbage",
        E.replace("{model}", "{f}"),
        setup=write("x.gguf", b"GGUF\x03\x00\x00\x00" + b"\xff" * 40),
        message="x.gguf",
        names="{f}",
    ),
    Case("extend", "init-unknown", E + " --init magic", message="invalid choice: 'magic'"),
    # --- convert -----------------------------------------------------------------------------
    Case(
        "convert",
        "src-missing",
        C.replace("{m}", "{tmp}/nope"),
        message="no such file",
        names="{tmp}/nope",
    ),
    Case(
        "convert",
        "out-not-empty",
        C,
        setup=lambda env: {**model_copy(lambda d: None)(env), **occupied(env)},
        message="not empty",
        names="{out}",
        absent=(),
    ),
    Case(
        "convert",
        "config-invalid-json",
        C,
        setup=model_copy(overwrite("config.json", "{x")),
        message="invalid JSON",
        names="{m}/config.json",
    ),
    Case(
        "convert",
        "model-type-unknown",
        C,
        setup=model_copy(edit_json("config.json", lambda c: c.update(model_type="t5"))),
        message="model_type 't5'",
        names="{m}",
    ),
    Case(
        "convert",
        "safetensors-truncated",
        C,
        setup=model_copy(truncate("model.safetensors")),
        message="model.safetensors",
        names="{m}/model.safetensors",
    ),
    Case(
        "convert",
        "pickle-refused",
        C,
        setup=model_copy(to_pickle),
        message="pickle weights",
        names="{m}",
    ),
    Case(
        "convert",
        "gguf-truncated",
        "convert {g} {out}",
        setup=gguf_truncated,
        message="trunc.gguf",
        names="{g}",
    ),
    Case(
        "convert",
        "gguf-header-cut",
        "convert {g} {out}",
        setup=gguf_header_cut,
        message="cut.gguf",
        names="{g}",
    ),
    Case(
        "convert",
        "gguf-garbage",
        "convert {f} {out}",
        setup=write("g.gguf", os.urandom(64)),
        message="g.gguf",
        names="{f}",
    ),
    Case(
        "convert", "dtype-unknown", "convert {model} {out} --dtype float8", message="invalid choice"
    ),
    # --- train (all fail before the model loads or the identity phase runs) ------------------
    Case(
        "train",
        "config-invalid-yaml",
        R,
        setup=yaml_with("optim: [1,"),
        message=r"train.yaml:[0-9]+: invalid YAML",
        names="{cfg}",
        absent=("{run}",),
    ),
    Case(
        "train",
        "config-unknown-field",
        R,
        setup=yaml_with("epochs: 3"),
        message=r"unknown field\(s\) \['epochs'\]",
        names="{cfg}",
        absent=("{run}",),
    ),
    Case(
        "train",
        "config-bad-type",
        R,
        setup=yaml_with("seed: many"),
        message="seed: expected int",
        names="{cfg}",
        absent=("{run}",),
    ),
    Case(
        "train",
        "config-missing",
        "train {tmp}/none.yaml",
        message="no config file or preset named",
        names="{tmp}/none.yaml",
    ),
    Case(
        "train",
        "override-malformed",
        R + " optim.lr",
        setup=yaml_with(),
        message="override 'optim.lr' must look like",
        absent=("{run}",),
    ),
    Case(
        "train",
        "max-steps-negative",
        R + " --max-steps -3",
        setup=yaml_with(),
        message="--max-steps must be at least 1, got -3",
        absent=("{run}",),
    ),
    Case(
        "train",
        "max-steps-zero",
        R + " --max-steps 0",
        setup=yaml_with(),
        message="--max-steps must be at least 1",
        absent=("{run}",),
    ),
    Case(
        "train",
        "max-minutes-negative",
        R + " --max-minutes -1",
        setup=yaml_with(),
        message="--max-minutes must be positive",
        absent=("{run}",),
    ),
    Case(
        "train",
        "total-steps-zero",
        R + " optim.total_steps=0",
        setup=yaml_with(),
        message="total_steps",
        absent=("{run}",),
    ),
    Case(
        "train",
        "corpus-of-empty-texts",
        R + " data.train={empty_corpus}",
        setup=yaml_with(),
        message="all of them are empty",
        names="{empty_corpus}",
        absent=("{run}/hypernet",),
    ),
    Case(
        "train",
        "data-file-missing",
        R + " data.train={tmp}/none.jsonl",
        setup=yaml_with(),
        message="data.train: .*not found",
        names="{tmp}/none.jsonl",
        absent=("{run}/hypernet", "{run}/checkpoints"),
    ),
    Case(
        "train",
        "data-corpus-dir-invalid",
        R + " data.train={tmp}",
        setup=yaml_with(),
        message="manifest.json",
        names="{tmp}",
        absent=("{run}/hypernet",),
    ),
    Case(
        "train",
        "validation-tokenizer-missing",
        R + " validation_tokenizers=[{tmp}/val.json] data.validation={corpus}",
        setup=yaml_with(),
        message=r"validation_tokenizers\[0\]: .*cannot be loaded",
        names="{tmp}/val.json",
        absent=("{run}/hypernet", "{run}/checkpoints"),
    ),
    Case(
        "train",
        "validation-data-missing",
        R + " validation_tokenizers=[{target}] data.validation={tmp}/v.jsonl",
        setup=yaml_with(),
        message="data.validation: .*not found",
        names="{tmp}/v.jsonl",
        absent=("{run}/hypernet",),
    ),
    Case(
        "train",
        "source-tokenizer-missing",
        R + " source_tokenizer={tmp}/st.json",
        setup=yaml_with(),
        message="source_tokenizer: ",
        names="{tmp}/st.json",
        absent=("{run}/hypernet",),
    ),
    Case(
        "train",
        "base-model-missing",
        R + " base_model={tmp}/base",
        setup=yaml_with(),
        message="no such file",
        names="{tmp}/base",
        absent=("{run}/hypernet",),
    ),
    Case(
        "train",
        "resume-under-another-config",
        R + " optim.lr=0.5",
        setup=run_with_checkpoints(),
        message=r"holds checkpoints of a run with another config \(optim\.lr: .* → 0\.5\)",
        names="{run}",
        absent=("{run}/hypernet", "{run}/metrics.jsonl"),
    ),
    # --- demo: refused before any model is read ----------------------------------------------
    Case("demo", "method-unknown", "demo --methods magic", message="unknown method 'magic'"),
    Case("demo", "method-option-unknown", "demo --methods fvt,bogus=1", message="bogus"),
    # --- plan, data, the command line itself -------------------------------------------------
    Case("plan", "mesh-malformed", "plan tiny --mesh a=b", message="mesh", absent=()),
    Case(
        "plan",
        "preset-unknown",
        "plan nosuch --mesh 1x1x1",
        message="no config file or preset",
        absent=(),
    ),
    Case(
        "data",
        "info-not-a-corpus",
        "data info {tmp}",
        message="manifest.json",
        names="{tmp}",
        absent=(),
    ),
    Case(
        "data",
        "build-config-invalid-yaml",
        "data build --out {out} --config {f}",
        setup=write("c.yaml", "langs: [de,\n"),
        message="invalid YAML",
        names="{f}",
    ),
    Case(
        "zett", "unknown-command", "frobnicate", message="invalid choice: 'frobnicate'", absent=()
    ),
    Case(
        "zett",
        "unknown-option",
        "transfer --frob",
        message="unrecognized arguments|required",
        absent=(),
    ),
]


def by_command(cases: list[Case]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in cases:
        out[c.command] = out.get(c.command, 0) + 1
    return out
