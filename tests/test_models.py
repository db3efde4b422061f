from dataclasses import replace

import pytest
import torch

from audioviz.extract.models import COMPACT, PAPER, AEConfig, ConvAutoencoder, build

SMALL = AEConfig(num_init_filters=4, num_pools=3, num_fc=2, fc_scale_down=8, code_norm=True)


@pytest.mark.parametrize("variant", ["ae", "ae_shared", "ae_skip"])
def test_encode_and_decode_shapes(variant):
    net = ConvAutoencoder(replace(SMALL, variant=variant)).eval()
    x = torch.rand(5, 1, 64, 96)
    y, code = net(x)
    assert y.shape == x.shape and code.shape == (5, 10)
    assert torch.all((code > 0) & (code < 1)) and torch.all((y >= 0) & (y <= 1))
    torch.testing.assert_close(net.encode(x), code)
    y_closed, code_closed = net(x, bypass=False)
    torch.testing.assert_close(code_closed, code)  # closing the bypass never changes the code
    assert y_closed.shape == x.shape


def test_conv_block_layers_are_each_blocks_output_averaged_over_time():
    net = ConvAutoencoder(replace(SMALL, variant="ae_skip")).eval()
    # 4, 8 and 16 channels over 64, 32 and 16 MFCC rows; the code last, the default
    assert net.layers == {"conv1": 256, "conv2": 256, "conv3": 256, "code": 10} and net.default_layer == "code"
    x = torch.rand(3, 1, 64, 96)
    with torch.no_grad():
        h = x
        for b in range(3):
            block = torch.relu(net.conv2[b](torch.relu(net.conv1[b](h))))
            torch.testing.assert_close(net.encode(x, f"conv{b + 1}"), block.mean(dim=-1).flatten(1))
            h = torch.nn.functional.max_pool2d(block, 2)
        torch.testing.assert_close(net.encode(x, "code"), net.encode(x))
    assert COMPACT.channels == [8, 16, 32, 64] and ConvAutoencoder(COMPACT).layers == {
        "conv1": 512, "conv2": 512, "conv3": 512, "conv4": 512, "code": 10}
    with pytest.raises(ValueError, match="feature layers are conv1, conv2, conv3, code, not 'conv4'"):
        net.encode(x, "conv4")


def test_paper_configuration_sizes():
    assert PAPER.fc_sizes == [6144, 3072, 10]
    assert COMPACT.fc_sizes == [1536, 192, 10]


def test_shared_decoder_owns_only_biases():
    plain = ConvAutoencoder(replace(SMALL, variant="ae"))
    shared = ConvAutoencoder(replace(SMALL, variant="ae_shared"))
    decoder_weights = [n for n, p in shared.named_parameters() if n.startswith("dec") and p.dim() > 1]
    assert decoder_weights == []
    n_plain = sum(p.numel() for p in plain.parameters())
    n_shared = sum(p.numel() for p in shared.parameters())
    assert n_shared < 0.55 * n_plain
    # every weight tensor is the encoder's; the decoder's biases match its layer sizes
    assert {n for n in shared.state_dict() if n.endswith("weight")} == {
        n for n in plain.state_dict() if n.endswith("weight") and not n.startswith("dec")}
    assert [b.numel() for b in shared.dec_conv1_bias] == [1, 4, 8]


def test_skip_connections_carry_the_input_around_the_code():
    torch.manual_seed(0)
    net = ConvAutoencoder(replace(SMALL, variant="ae_skip")).eval()
    a, b = torch.rand(1, 1, 64, 96), torch.rand(1, 1, 64, 96)
    with torch.no_grad():
        # the same code with different skips gives different outputs only when skips are open
        ya, _ = net(a)
        yb, _ = net(b)
        assert (ya - yb).abs().mean() > 1e-4


def test_build_from_plain_data():
    net = build("autoencoder", replace(SMALL, variant="ae_skip").to_dict())
    assert isinstance(net, ConvAutoencoder) and net.skip
    with pytest.raises(ValueError, match="unknown architecture"):
        build("transformer", {})
    with pytest.raises(ValueError, match="divisible"):
        AEConfig(num_pools=7)


def test_loading_a_model_beside_a_gl_context_loads_no_compiler():
    """Loading checks a checkpoint against its architecture built on the meta device. A random
    initialiser there makes torch 2.14 import its compiler stack (torch._dynamo, which imports
    triton: its LLVM crashed the process beside Mesa's llvmpipe in CI); loading needs none of it."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from audioviz.render.context import create_context\n"
            "from audioviz.extract.registry import load_model\n"
            "ctx = create_context()\n"
            "for name in ('ae_shared', 'vgg16'):\n"
            "    load_model(name, 'cpu')\n"
            "print(sorted(m for m in sys.modules if m.startswith('torch._dynamo')))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "[]"


def test_training_after_rendering_in_one_process_does_not_crash():
    """A CUDA build of torch 2.14 imports triton when an optimizer is made; triton's LLVM
    segfaulted a process whose GL is Mesa's (LLVM too): render, then train, in one process."""
    import subprocess
    import sys

    code = ("from audioviz.render.context import create_context\n"
            "import torch\n"
            "ctx = create_context()\n"
            "net = torch.nn.Linear(4, 2)\n"
            "opt = torch.optim.Adam(net.parameters(), lr=1e-3)\n"
            "net(torch.ones(3, 4)).sum().backward()\n"
            "opt.step()\n"
            "print('trained')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "trained"
