"""Mesh and logical-axis rules; sharded results equal unsharded ones on 8 fake CPU devices."""

import os
import subprocess
import sys
import textwrap

import pytest
from jax.sharding import PartitionSpec as P

from zett.parallel import DEFAULT_RULES, MeshConfig, logical_to_spec


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
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
    r = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr[-3000:]
