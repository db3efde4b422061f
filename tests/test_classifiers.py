"""The genre classifiers' architectures: the paper's adaptations, every feature layer's shape,
and initialisation from ImageNet weights in torchvision's layout."""

import pytest
import torch

from audioviz.extract.classifiers import (
    ARCHS, FEATURE_LAYERS, ClassifierConfig, GenreClassifier, find_imagenet_weights, load_imagenet,
)
from audioviz.extract.models import build

CLASSES = ("a", "b", "c")


@pytest.mark.parametrize("arch", ARCHS)
def test_every_layer_gives_features_of_its_stated_size(arch):
    torch.manual_seed(0)
    net = GenreClassifier(ClassifierConfig(arch, CLASSES, width_divisor=8)).eval()  # the bundled width
    x = torch.randn(3, 1, 64, 96)
    with torch.no_grad():
        assert net(x).shape == (3, 3)
        assert list(net.layers) == list(FEATURE_LAYERS[arch]) and net.default_layer == FEATURE_LAYERS[arch][-1]
        for layer, size in net.layers.items():
            f = net.encode(x, layer)
            assert f.shape == (3, size) and torch.isfinite(f).all() and (f >= 0).all()  # after a ReLU
        torch.testing.assert_close(net.encode(x), net.encode(x, net.default_layer))
        # the conv stack really leaves the map the FC layer is sized for
        h, w = net.config.spatial[-1]
        assert net._conv_stack(x).shape == (3, net.config.convs[-1].out_channels, h, w)
    with pytest.raises(ValueError, match="no feature layer 'L99'"):
        net.encode(x, "L99")


def test_the_bundled_width_gives_the_registry_sizes():
    sizes = {arch: ClassifierConfig(arch, CLASSES, width_divisor=8).layers for arch in ARCHS}
    assert sizes == {"alexnet": {"L6": 512}, "vgg11": {"L8": 256}, "vgg13": {"L10": 256},
                     "vgg16": {"L13": 256, "L14": 512, "L15": 512}}


def test_paper_widths_and_resized_classifier():
    """At full width the FC layers take the paper's 256*6*4 (AlexNet) and 512*2*3 (VGG) inputs."""
    alex = ClassifierConfig("alexnet", tuple("abcdefghijklmnop"))
    assert alex.fc_sizes == [256 * 6 * 4, 4096, 4096, 16] and alex.layers == {"L6": 4096}
    for arch, n_conv, last in (("vgg11", 8, "L8"), ("vgg13", 10, "L10"), ("vgg16", 13, "L13")):
        c = ClassifierConfig(arch, CLASSES)
        assert len(c.convs) == n_conv and c.fc_sizes == [512 * 2 * 3, 4096, 4096, 3]
        assert c.layers[last] == 512 * 4  # the last conv map averaged over time: 512 channels x 4 rows
    assert ClassifierConfig("vgg16", CLASSES).layers == {"L13": 2048, "L14": 4096, "L15": 4096}


def test_one_input_channel_alexnet_stride_and_vgg_batch_norm():
    alex = GenreClassifier(ClassifierConfig("alexnet", CLASSES, width_divisor=8))
    first = alex.conv[0]
    assert (first.in_channels, first.kernel_size, first.stride) == (1, (11, 11), (1, 2))
    assert alex.norm is None
    for arch in ("vgg11", "vgg13", "vgg16"):
        net = GenreClassifier(ClassifierConfig(arch, CLASSES, width_divisor=8))
        assert net.conv[0].in_channels == 1 and len(net.norm) == len(net.conv)
        assert all(c.kernel_size == (3, 3) and c.stride == (1, 1) for c in net.conv)


def test_configs_are_plain_data_and_checked():
    c = ClassifierConfig("vgg13", ["rock", "jazz"], width_divisor=16)
    net = build("classifier", c.to_dict())
    assert isinstance(net, GenreClassifier) and net.config == c and net.config.classes == ("rock", "jazz")
    with pytest.raises(ValueError, match="not one of"):
        ClassifierConfig("resnet", CLASSES)
    with pytest.raises(ValueError, match="at least two classes"):
        ClassifierConfig("vgg16", ("only",))
    with pytest.raises(ValueError, match="must divide 64"):
        ClassifierConfig("vgg16", CLASSES, width_divisor=3)


def imagenet_style(net: GenreClassifier) -> dict:
    """A state dict laid out as torchvision's VGG-bn: features.N (conv, bn, relu[, pool]) and
    classifier.N (linear, relu, dropout), RGB input, 7x7 map into the first FC layer, 1000 classes."""
    torch.manual_seed(1)
    state, i = {}, 0
    for k, conv in enumerate(net.conv):
        w = torch.randn(conv.out_channels, 3 if k == 0 else conv.in_channels, 3, 3)
        state[f"features.{i}.weight"], state[f"features.{i}.bias"] = w, torch.randn(conv.out_channels)
        n = conv.out_channels
        state |= {f"features.{i + 1}.weight": torch.rand(n), f"features.{i + 1}.bias": torch.randn(n),
                  f"features.{i + 1}.running_mean": torch.randn(n), f"features.{i + 1}.running_var": torch.rand(n),
                  f"features.{i + 1}.num_batches_tracked": torch.tensor(7)}
        i += 4 if net.config.convs[k].pool else 3
    fc = net.config.fc_sizes[1]
    c_last = net.config.convs[-1].out_channels
    for j, (o, inp) in zip((0, 3, 6), ((fc, c_last * 7 * 7), (fc, fc), (1000, fc))):
        state[f"classifier.{j}.weight"], state[f"classifier.{j}.bias"] = torch.randn(o, inp), torch.randn(o)
    return state


def test_imagenet_weights_initialise_every_conv_and_the_second_fc(tmp_path, monkeypatch):
    torch.manual_seed(0)
    net = GenreClassifier(ClassifierConfig("vgg11", CLASSES, width_divisor=32))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    state = imagenet_style(net)
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save(state, folder / "vgg11_bn-12345678.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = find_imagenet_weights("vgg11")
    assert path == folder / "vgg11_bn-12345678.pth" and find_imagenet_weights("vgg16") is None

    loaded = load_imagenet(net, path)
    after = net.state_dict()
    # the first conv sees one MFCC plane: the sum of its three colour planes
    torch.testing.assert_close(after["conv.0.weight"], state["features.0.weight"].sum(dim=1, keepdim=True))
    torch.testing.assert_close(after["conv.1.weight"], state["features.4.weight"])  # after conv, bn, relu, pool
    torch.testing.assert_close(after["norm.7.running_var"], state["features.26.running_var"])
    torch.testing.assert_close(after["fc.1.weight"], state["classifier.3.weight"])
    # the resized first FC layer and the output layer keep their own initialisation
    for key in ("fc.0.weight", "fc.2.weight", "fc.2.bias"):
        torch.testing.assert_close(after[key], before[key])
    assert "fc.0.weight" not in loaded and len(loaded) == 8 * 2 + 8 * 5 + 2

    narrower = GenreClassifier(ClassifierConfig("vgg11", CLASSES, width_divisor=64))
    with pytest.raises(ValueError, match="--preset paper"):
        load_imagenet(narrower, path)
    with pytest.raises(ValueError, match="13 convs"):
        load_imagenet(GenreClassifier(ClassifierConfig("vgg16", CLASSES, width_divisor=32)), path)
