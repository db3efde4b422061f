"""Finding the EGL device of the GPU Ray assigned: the mapping with fake sysfs trees, fake EGL
device lists and fake nvidia-smi output, plus one real enumeration on this machine."""

from __future__ import annotations

import os
import subprocess
from types import SimpleNamespace

import pytest

from audioviz.render.context import ENV_DEVICE
from audioviz.render.devices import (
    NVIDIA_SMI,
    EglDevice,
    egl_devices,
    match_egl_device,
    normalize_pci_bus_id,
    pci_bus_id_of_cuda_device,
    pci_bus_id_of_drm_file,
    select_assigned_gpu,
)

# EGL lists the GPU at 0000:b3 first, CUDA (and nvidia-smi) the one at 0000:17
SMI_OUTPUT = (
    "0, 00000000:17:00.0, GPU-11111111-aaaa-bbbb-cccc-000000000000\n"
    "1, 00000000:B3:00.0, GPU-22222222-aaaa-bbbb-cccc-000000000000\n"
)
DEVICES = [
    EglDevice(0, False, "/dev/dri/card2", 1, "0000:b3:00.0"),
    EglDevice(1, False, "/dev/dri/card1", 0, "0000:17:00.0"),
    EglDevice(2, True, None, None, None),
]


def smi(stdout=SMI_OUTPUT, returncode=0):
    calls = []

    def run(args, **kwargs):
        calls.append(args)
        return SimpleNamespace(returncode=returncode, stdout=stdout)

    run.calls = calls
    return run


def no_smi(args, **kwargs):
    raise FileNotFoundError("nvidia-smi")


def fake_cuda(**props):
    return SimpleNamespace(get_device_properties=lambda i: SimpleNamespace(**props))


@pytest.mark.parametrize("text, expected", [
    ("00000000:17:00.0", "0000:17:00.0"),
    ("0000:B3:00.0", "0000:b3:00.0"),
    ("  0001:0a:1f.7\n", "0001:0a:1f.7"),
    ("17:00.0", "0000:17:00.0"),
    ("0:3:0.1", "0000:03:00.1"),
    ("platform-fd000000.gpu", None),
    ("0000:17:00", None),
    ("", None),
    (None, None),
])
def test_normalize_pci_bus_id(text, expected):
    assert normalize_pci_bus_id(text) == expected


def fake_sysfs(tmp_path):
    """/sys/class/drm/cardN/device links to the PCI device, as the kernel lays it out."""
    sys_root = tmp_path / "sys"
    drm = sys_root / "class" / "drm"
    for node, pci in (("card1", "0000:17:00.0"), ("renderD129", "0000:B3:00.0"),
                      ("card9", "fd000000.gpu")):
        target = sys_root / "devices" / "pci0000:00" / pci
        target.mkdir(parents=True, exist_ok=True)
        (drm / node).mkdir(parents=True)
        os.symlink(os.path.relpath(target, drm / node), drm / node / "device")
    return str(sys_root)


def test_pci_bus_id_of_drm_file_follows_sysfs_links(tmp_path):
    sysfs = fake_sysfs(tmp_path)
    assert pci_bus_id_of_drm_file("/dev/dri/card1", sysfs) == "0000:17:00.0"
    assert pci_bus_id_of_drm_file("/dev/dri/renderD129", sysfs) == "0000:b3:00.0"
    assert pci_bus_id_of_drm_file("/dev/dri/card9", sysfs) is None  # not a PCI device
    assert pci_bus_id_of_drm_file("/dev/dri/card0", sysfs) is None  # no such node
    assert pci_bus_id_of_drm_file(None, sysfs) is None


def test_match_picks_the_hardware_device_at_that_address():
    assert match_egl_device("0000:17:00.0", DEVICES) == 1
    assert match_egl_device("00000000:B3:00.0", DEVICES) == 0
    assert match_egl_device("0000:65:00.0", DEVICES) is None
    assert match_egl_device(None, DEVICES) is None
    assert match_egl_device("0000:17:00.0", []) is None


def test_match_refuses_ambiguity_and_skips_software():
    twice = DEVICES + [EglDevice(3, False, "/dev/dri/renderD128", None, "0000:17:00.0")]
    assert match_egl_device("0000:17:00.0", twice) is None
    # a software device never matches, whatever address it is labelled with
    soft = [EglDevice(0, True, None, None, "0000:17:00.0")]
    assert match_egl_device("0000:17:00.0", soft) is None


@pytest.mark.parametrize("visible, expected", [
    ("0", "0000:17:00.0"),
    ("1", "0000:b3:00.0"),
    ("1,0", "0000:b3:00.0"),
    ("GPU-22222222-aaaa-bbbb-cccc-000000000000", "0000:b3:00.0"),
    ("gpu-11111111", "0000:17:00.0"),  # a unique UUID prefix, as CUDA accepts
    ("GPU-", None),  # a prefix of both
    ("7", None),
    ("", None),
    ("-1", None),
    ("MIG-33333333", None),
])
def test_nvidia_smi_matches_cuda_visible_devices(visible, expected):
    run = smi()
    found = pci_bus_id_of_cuda_device({"CUDA_VISIBLE_DEVICES": visible}, run=run,
                                      torch_cuda=fake_cuda())
    assert found == expected
    assert run.calls in ([], [NVIDIA_SMI])


def test_nvidia_smi_without_cuda_visible_devices_only_trusts_a_lone_gpu():
    assert pci_bus_id_of_cuda_device({}, run=smi(), torch_cuda=fake_cuda()) is None
    lone = smi("0, 00000000:65:00.0, GPU-aaaa\n")
    assert pci_bus_id_of_cuda_device({}, run=lone, torch_cuda=fake_cuda()) == "0000:65:00.0"


def test_nvidia_smi_missing_failing_or_hanging_gives_none():
    env = {"CUDA_VISIBLE_DEVICES": "0"}

    def hangs(args, **kwargs):
        raise subprocess.TimeoutExpired(args, kwargs.get("timeout", 0))

    for run in (no_smi, hangs, smi(returncode=9), smi(stdout="garbage\n")):
        assert pci_bus_id_of_cuda_device(env, run=run, torch_cuda=fake_cuda()) is None


def test_torch_is_asked_first():
    cuda = fake_cuda(pci_domain_id=1, pci_bus_id=0xB3, pci_device_id=2)
    run = smi()
    assert pci_bus_id_of_cuda_device({"CUDA_VISIBLE_DEVICES": "0"}, run=run,
                                     torch_cuda=cuda) == "0001:b3:02.0"
    assert run.calls == []


def test_torch_without_pci_fields_or_failing_falls_back_to_nvidia_smi():
    def broken(i):
        raise RuntimeError("CUDA driver initialization failed")

    env = {"CUDA_VISIBLE_DEVICES": "1"}
    old = fake_cuda(name="Tesla V100")  # a torch older than the pci_* properties
    assert pci_bus_id_of_cuda_device(env, run=smi(), torch_cuda=old) == "0000:b3:00.0"
    failing = SimpleNamespace(get_device_properties=broken)
    assert pci_bus_id_of_cuda_device(env, run=smi(), torch_cuda=failing) == "0000:b3:00.0"
    assert pci_bus_id_of_cuda_device(env, run=no_smi, torch_cuda=failing) is None


def test_select_sets_the_egl_device_of_the_assigned_gpu():
    # Ray gave this actor the second GPU: CUDA calls it 0, nvidia-smi 1, EGL 0
    env = {"CUDA_VISIBLE_DEVICES": "1"}
    said = select_assigned_gpu([1], env, find_devices=lambda: DEVICES,
                               find_pci=lambda e: pci_bus_id_of_cuda_device(
                                   e, run=smi(), torch_cuda=fake_cuda()))
    assert env[ENV_DEVICE] == "0"
    assert said == "GPU 0000:b3:00.0 is EGL device 0"

    env = {"CUDA_VISIBLE_DEVICES": "GPU-11111111-aaaa-bbbb-cccc-000000000000"}
    said = select_assigned_gpu(["0"], env, find_devices=lambda: DEVICES,
                               find_pci=lambda e: pci_bus_id_of_cuda_device(
                                   e, run=smi(), torch_cuda=fake_cuda()))
    assert env[ENV_DEVICE] == "1"
    assert said == "GPU 0000:17:00.0 is EGL device 1"


def test_select_with_no_gpu_leaves_the_environment_alone():
    def never(*args):
        raise AssertionError("nothing should be looked up without a GPU")

    env = {"CUDA_VISIBLE_DEVICES": "0"}
    said = select_assigned_gpu([], env, find_devices=never, find_pci=never)
    assert env == {"CUDA_VISIBLE_DEVICES": "0"}
    assert said == "no GPU assigned; EGL's default device"


def test_select_respects_an_explicit_device():
    def never(*args):
        raise AssertionError("an explicit device should not be second-guessed")

    env = {ENV_DEVICE: "3", "CUDA_VISIBLE_DEVICES": "0"}
    said = select_assigned_gpu([0], env, find_devices=never, find_pci=never)
    assert env[ENV_DEVICE] == "3"
    assert said == f"{ENV_DEVICE}=3 set explicitly; kept"


@pytest.mark.parametrize("pci, devices, why", [
    (None, DEVICES, "PCI bus id is unknown"),
    ("0000:17:00.0", None, "EGL devices cannot be listed"),
    ("0000:65:00.0", DEVICES,
     "is not exactly one EGL device (0=0000:b3:00.0, 1=0000:17:00.0, 2=software)"),
    ("0000:17:00.0", [EglDevice(0, False, None, 0, None), EglDevice(1, True, None, None, None)],
     "is not exactly one EGL device (0=?, 1=software)"),
    ("0000:17:00.0", [], "(none listed)"),
])
def test_select_without_a_mapping_leaves_the_environment_alone(pci, devices, why):
    env = {"CUDA_VISIBLE_DEVICES": "0"}
    said = select_assigned_gpu([0], env, find_devices=lambda: devices, find_pci=lambda e: pci)
    assert env == {"CUDA_VISIBLE_DEVICES": "0"}
    assert why in said
    assert said.endswith("EGL's default device")
    assert "\n" not in said


def test_egl_devices_without_libegl_is_none():
    assert egl_devices(libegl="/nonexistent/libEGL.so.1") is None


def test_egl_devices_on_this_machine():
    found = egl_devices()
    if found is None:  # no libEGL with device enumeration here: nothing else to check
        return
    assert [d.index for d in found] == list(range(len(found)))
    assert all(isinstance(d, EglDevice) for d in found)
    # Mesa's llvmpipe is a software device; a GPU machine lists it after its GPUs
    assert any(d.software for d in found)
    for d in found:
        if d.software:
            assert d.pci_bus_id is None and d.cuda_ordinal is None
        if d.pci_bus_id is not None:
            assert normalize_pci_bus_id(d.pci_bus_id) == d.pci_bus_id
