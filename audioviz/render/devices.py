"""Which EGL device is the GPU this process was given.

Ray gives each render actor a GPU by setting CUDA_VISIBLE_DEVICES, and CUDA then numbers the
GPUs it may see from 0. EGL pays no attention to that variable: eglQueryDevicesEXT lists every
device of every vendor (Mesa's software device among them) in an order of its own, so EGL device
0 is often another actor's GPU, and eight actors on an eight-GPU node may all render on one.

The key both sides agree on is the GPU's PCI bus id: CUDA (through torch, or nvidia-smi) reports
it for the device it calls 0, and an EGL device with EGL_EXT_device_drm names its DRM node, which
sysfs resolves to the same PCI address. `select_assigned_gpu` pairs the two and sets
AUDIOVIZ_GL_DEVICE, which `context.create_context` tries first.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import subprocess
from dataclasses import dataclass

from .context import EGL_EXTENSIONS, ENV_DEVICE, SOFTWARE_DEVICE_EXT, _libegl

EGL_DRM_DEVICE_FILE_EXT = 0x3233
EGL_CUDA_DEVICE_NV = 0x323A
NVIDIA_SMI = ["nvidia-smi", "--query-gpu=index,pci.bus_id,uuid", "--format=csv,noheader"]

_PCI = re.compile(r"^(?:([0-9a-f]{1,8}):)?([0-9a-f]{1,2}):([0-9a-f]{1,2})\.([0-7])$")


@dataclass(frozen=True)
class EglDevice:
    index: int  # as eglQueryDevicesEXT (and so glcontext's device_index) counts
    software: bool
    drm_file: str | None
    cuda_ordinal: int | None
    pci_bus_id: str | None


def normalize_pci_bus_id(text: str | None) -> str | None:
    """"dddd:bb:dd.f" in lower case; nvidia-smi writes an 8-digit domain, sysfs a 4-digit one."""
    m = _PCI.match((text or "").strip().lower())
    if not m:
        return None
    domain, bus, dev, fn = m.groups()
    return f"{int(domain or '0', 16):04x}:{int(bus, 16):02x}:{int(dev, 16):02x}.{fn}"


def pci_bus_id_of_drm_file(drm_file: str | None, sysfs: str = "/sys") -> str | None:
    """/dev/dri/card1 (or renderD129) -> the PCI address its sysfs `device` link points at."""
    if not drm_file:
        return None
    link = os.path.join(sysfs, "class", "drm", os.path.basename(drm_file), "device")
    if not os.path.exists(link):
        return None
    # a GPU that is not on PCI (a SoC's) resolves to a platform device name: no match, not a guess
    return normalize_pci_bus_id(os.path.basename(os.path.realpath(link)))


def egl_devices(libegl: str | None = None, sysfs: str = "/sys") -> list[EglDevice] | None:
    """Every EGL device in glcontext's order; None without libEGL or its device extensions."""
    name = libegl or _libegl() or ctypes.util.find_library("EGL")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
        get_proc = lib.eglGetProcAddress
    except (OSError, AttributeError):
        return None
    get_proc.restype, get_proc.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    p_devices, p_string, p_attrib = (get_proc(n) for n in (
        b"eglQueryDevicesEXT", b"eglQueryDeviceStringEXT", b"eglQueryDeviceAttribEXT"))
    if not p_devices or not p_string:
        return None
    query_devices = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                                     ctypes.POINTER(ctypes.c_int))(p_devices)
    query_string = ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int)(p_string)
    # EGLAttrib is intptr_t, not EGLint: a 4-byte out-parameter would be overrun by 8 bytes
    query_attrib = p_attrib and ctypes.CFUNCTYPE(
        ctypes.c_uint, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_ssize_t))(p_attrib)

    count = ctypes.c_int(0)
    if not query_devices(0, None, ctypes.byref(count)):
        return None
    handles = (ctypes.c_void_p * max(count.value, 1))()
    if not query_devices(count.value, handles, ctypes.byref(count)):
        return None

    found = []
    for i in range(count.value):
        extensions = (query_string(handles[i], EGL_EXTENSIONS) or b"").split()
        # asking for a property whose extension the device lacks is an EGL error (and, on some
        # drivers, a logged one), so each query waits for its extension to be listed
        drm = None
        if b"EGL_EXT_device_drm" in extensions:
            raw = query_string(handles[i], EGL_DRM_DEVICE_FILE_EXT)
            drm = raw.decode(errors="replace") if raw else None
        cuda = None
        if query_attrib and b"EGL_NV_device_cuda" in extensions:
            value = ctypes.c_ssize_t(-1)
            if query_attrib(handles[i], EGL_CUDA_DEVICE_NV, ctypes.byref(value)):
                cuda = value.value
        found.append(EglDevice(i, SOFTWARE_DEVICE_EXT in extensions, drm, cuda,
                               pci_bus_id_of_drm_file(drm, sysfs)))
    return found


def _torch_cuda():
    try:
        import torch
    except (ImportError, OSError):
        return None
    return torch.cuda if torch.cuda.is_available() else None


def _pci_from_torch(cuda) -> str | None:
    try:
        props = cuda.get_device_properties(0)
    except (RuntimeError, AssertionError):  # torch's errors for a broken or absent CUDA
        return None
    parts = [getattr(props, a, None) for a in ("pci_domain_id", "pci_bus_id", "pci_device_id")]
    if any(not isinstance(p, int) for p in parts):  # torch older than these fields
        return None
    domain, bus, device = parts
    return f"{domain:04x}:{bus:02x}:{device:02x}.0"


def _pci_from_nvidia_smi(environ, run) -> str | None:
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    first = visible.split(",")[0].strip() if visible is not None else None
    if first is not None and (not first or first.startswith("-")):  # CUDA sees no GPU at all
        return None
    try:
        done = run(NVIDIA_SMI, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    rows = [[c.strip() for c in line.split(",")] for line in done.stdout.splitlines()]
    rows = [r for r in rows if len(r) >= 3]
    if first is None:
        # unset means every GPU, and CUDA's 0 is then its fastest, not nvidia-smi's 0: only a
        # lone GPU is sure
        hits = rows if len(rows) == 1 else []
    elif first.isdigit():
        # nvidia-smi counts in PCI order; CUDA does too under CUDA_DEVICE_ORDER=PCI_BUS_ID, and on
        # a node of identical GPUs (what Ray schedules on) its default order agrees with it
        hits = [r for r in rows if r[0] == first]
    else:
        # CUDA accepts any unique prefix of a UUID ("GPU-8f6a")
        hits = [r for r in rows if r[2].lower().startswith(first.lower())]
    return normalize_pci_bus_id(hits[0][1]) if len(hits) == 1 else None


def pci_bus_id_of_cuda_device(environ=os.environ, *, run=subprocess.run,
                              torch_cuda=None) -> str | None:
    """The PCI bus id of the GPU this process sees as CUDA device 0; None where none can be found.

    Asks torch first (CUDA itself applies CUDA_VISIBLE_DEVICES there), else nvidia-smi, matched
    against the first entry of CUDA_VISIBLE_DEVICES. `run` and `torch_cuda` stand in for
    subprocess.run and torch.cuda in tests."""
    cuda = torch_cuda if torch_cuda is not None else _torch_cuda()
    return (_pci_from_torch(cuda) if cuda is not None else None) or _pci_from_nvidia_smi(environ, run)


def match_egl_device(pci_bus_id: str | None, devices: list[EglDevice]) -> int | None:
    """The EGL index of the one hardware device at that PCI address; None if none or several."""
    wanted = normalize_pci_bus_id(pci_bus_id)
    if wanted is None:
        return None
    hits = [d.index for d in devices if not d.software and normalize_pci_bus_id(d.pci_bus_id) == wanted]
    return hits[0] if len(hits) == 1 else None


def select_assigned_gpu(gpu_ids, environ=os.environ, *, find_devices=egl_devices,
                        find_pci=pci_bus_id_of_cuda_device) -> str:
    """Point AUDIOVIZ_GL_DEVICE at the EGL device of the GPU Ray assigned (`ray.get_gpu_ids()`)
    and say in one line what was chosen, or why nothing was (EGL's default device is then used)."""
    if not list(gpu_ids):
        return "no GPU assigned; EGL's default device"
    explicit = environ.get(ENV_DEVICE, "").strip()
    if explicit:
        return f"{ENV_DEVICE}={explicit} set explicitly; kept"
    pci = find_pci(environ)
    if pci is None:
        return (f"GPU {list(gpu_ids)} assigned, but its PCI bus id is unknown (no CUDA in torch, "
                "no nvidia-smi); EGL's default device")
    devices = find_devices()
    if devices is None:
        return f"GPU {pci} assigned, but EGL devices cannot be listed; EGL's default device"
    index = match_egl_device(pci, devices)
    if index is None:
        seen = ", ".join(f"{d.index}={d.pci_bus_id or ('software' if d.software else '?')}"
                         for d in devices) or "none listed"
        return f"GPU {pci} is not exactly one EGL device ({seen}); EGL's default device"
    environ[ENV_DEVICE] = str(index)
    return f"GPU {pci} is EGL device {index}"
