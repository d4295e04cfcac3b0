"""Mesh and logical-axis rules; sharded results equal unsharded ones on 8 fake CPU devices."""

import os
import subprocess
import sys
import textwrap

import pytest
from jax.sharding import PartitionSpec as P

from zett.parallel import MeshConfig, logical_to_spec


def test_logical_to_spec_uses_each_mesh_axis_once():
    assert logical_to_spec(("vocab", "embed")) == P("model", "fsdp")
    assert logical_to_spec(("mlp", "heads")) == P("model", None)
    assert logical_to_spec(("batch", None)) == P(("data", "fsdp"), None)
    assert logical_to_spec(None) == P()


def test_mesh_shape_resolution():
    assert MeshConfig(data=-1, fsdp=2, model=2).shape(8) == (2, 2, 2)
    with pytest.raises(ValueError, match="cannot be split"):
        MeshConfig(data=-1, fsdp=3).shape(8)
    with pytest.raises(ValueError, match="needs 4 devices"):
        MeshConfig(data=2, fsdp=2, model=1).shape(8)


SCRIPT = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np
    from flax import nnx
    from zett.hypernet.config import HypernetConfig
    from zett.hypernet.model import Hypernet
    from zett.parallel import MeshConfig, make_mesh, shard_state, batch_sharding
    assert jax.device_count() == 8
    src = np.random.default_rng(0).normal(size=(300, 32)).astype("float32")
    cfg = HypernetConfig(hidden_size=64, intermediate_size=128, num_layers=2, surface_maxlen=4)
    ids = jnp.asarray(np.random.default_rng(1).integers(0, 300, size=(16, 4)), jnp.int32)
    lengths = jnp.asarray(np.random.default_rng(2).integers(1, 5, size=(16,)), jnp.int32)
    ref = Hypernet(cfg, src, rngs=nnx.Rngs(0))(ids, lengths).input_embeddings
    hn = Hypernet(cfg, src, rngs=nnx.Rngs(0))
    mesh = make_mesh(MeshConfig(data=2, fsdp=2, model=2))
    shard_state(hn, mesh)
    assert len(hn.blocks[0].qkv.kernel[...].sharding.device_set) == 8
    ids_s = jax.device_put(ids, batch_sharding(mesh, 2)); lengths_s = jax.device_put(lengths, batch_sharding(mesh, 1))
    out = nnx.jit(lambda m, i, l: m(i, l).input_embeddings)(hn, ids_s, lengths_s)
    np.testing.assert_allclose(np.asarray(out), np.asarray(ref), atol=1e-5)
    print("OK")
    """
)


def test_sharded_forward_equals_unsharded():
    env = dict(
        os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu"
    )
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr[-3000:]


STEP_SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np
    from flax import nnx
    from zett.hypernet.config import HypernetConfig
    from zett.hypernet.model import Hypernet
    from zett.hypernet.optim import OptimConfig, make_optimizer
    from zett.hypernet.step import train_step
    from zett.models.decoder import MODEL_CLASS, tiny_config
    from zett.parallel import MeshConfig, make_mesh, shard_batch, shard_state
    from zett.sampling import Batch

    rng = np.random.default_rng(0)
    k, maxlen = 64, 4
    ids = rng.integers(1, k, size=(8, 16)).astype(np.int32)
    batch = Batch(ids, np.ones_like(ids), ids.copy(), rng.integers(0, 256, size=(k, maxlen)).astype(np.int32),
                          rng.integers(1, maxlen + 1, size=(k,)).astype(np.int32), np.full((k,), -1, np.int32),
                          np.full((k,), -1, np.int32), np.ones((k,), bool), np.full((8,), 50, np.int32))

    def setup():
        base = MODEL_CLASS(tiny_config(vocab_size=256), rngs=nnx.Rngs(0))
        hn = Hypernet(HypernetConfig(hidden_size=64, intermediate_size=128, num_layers=1, surface_maxlen=maxlen),
                      np.asarray(base.get_input_embeddings()), rngs=nnx.Rngs(1))
        optim = OptimConfig(identity_steps=0, warmup_steps=1, total_steps=10)
        opt = nnx.Optimizer(hn, make_optimizer(optim), wrt=nnx.Param)
        return base, hn, opt

    base, hn, opt = setup()
    ref = [float(train_step(hn, opt, base, batch)["loss"]) for _ in range(3)]
    base, hn, opt = setup()
    mesh = make_mesh(MeshConfig(data=2, fsdp=2, model=2))
    for module in (base, hn, opt):
        shard_state(module, mesh)
    sharded = shard_batch(batch, mesh)
    assert len(sharded.input_ids.sharding.device_set) == 8
    got = [float(train_step(hn, opt, base, sharded)["loss"]) for _ in range(3)]
    np.testing.assert_allclose(got, ref, rtol=1e-5)
    print("OK", ref, got)
    """
)


def test_sharded_train_step_equals_single_device():
    env = dict(
        os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu"
    )
    r = subprocess.run(
        [sys.executable, "-c", STEP_SCRIPT], env=env, capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr[-3000:]
