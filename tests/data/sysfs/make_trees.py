#!/usr/bin/env python3
"""Builds the hand-made sysfs fixture trees of gpuvm's probe tests.

Each tree is laid out as the kernel lays out sysfs: real directories under
devices/pci<DDDD>:<BB>/..., relative symlinks for bus/pci/devices/<BDF>,
driver, iommu_group, physfn/virtfnN, class/mdev_bus/<BDF> and
bus/mdev/devices/<uuid>, and the attribute files gpuvm and lspci read
(vendor, device, class, revision, subsystem_*, numa_node, 64 bytes of config
space with the same ids so that `lspci -A linux-sysfs` agrees).

  make_trees.py OUTDIR              write every tree to OUTDIR/<name>/sys
  make_trees.py --large OUTDIR      the benchmark host: 8 GPUs x 32 VFs + 30 others
  make_trees.py --check DIR         exit 1 unless DIR holds exactly what would be written

The checked-in trees in tests/data/sysfs/ are this script's output; the test
suite runs --check so that the two never drift apart. Git keeps no empty
directories, so the script writes none (an mdev type's devices/ appears only
with an mdev in it, a netdev directory always has operstate). The vGPU type ids of the
H100 vendor-specific tree are invented (the real ones are card-local); names
follow NVIDIA's naming (reference/nvidia.md section 7.3).
"""

import filecmp
import os
import shutil
import struct
import sys
import tempfile


class Dev:
    def __init__(self, bdf, vendor, device, cls, rev=0x00, sv=None, sd=None, parent=None,
                 numa=-1, driver=None, iommu=None, link=None, header=0):
        self.bdf = bdf
        self.vendor, self.device, self.cls, self.rev = vendor, device, cls, rev
        self.sv = vendor if sv is None else sv
        self.sd = device if sd is None else sd
        self.parent = parent          # BDF of the upstream bridge, None below the host bridge
        self.numa = numa
        self.driver = driver
        self.iommu = iommu
        self.link = link              # (speed, width)
        self.header = header          # 0 normal, 1 bridge
        self.files = {}               # relative path -> text
        self.links = {}               # relative path -> target, relative to the device dir
        self.physfn = None
        self.virtfns = []
        self.mdev_types = []          # (id, name, available, description)
        self.mdevs = []               # (uuid, type id)
        self.net = []                 # (ifname, phys_port_name or None)


def config_space(d):
    # Type 0/1 header, 64 bytes: ids, class, revision, header type, subsystem.
    b = bytearray(64)
    struct.pack_into('<HH', b, 0, d.vendor, d.device)
    b[8] = d.rev
    b[9] = d.cls & 0xff
    b[10] = (d.cls >> 8) & 0xff
    b[11] = (d.cls >> 16) & 0xff
    b[14] = d.header
    if d.header == 0:
        struct.pack_into('<HH', b, 0x2c, d.sv, d.sd)
    return bytes(b)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = 'wb' if isinstance(data, bytes) else 'w'
    with open(path, mode) as f:
        f.write(data)


def link(path, target):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(target, path)


def build(root, devs):
    """Writes devs (a list of Dev, parents before children) under root (the 'sys' dir)."""
    by_bdf = {d.bdf: d for d in devs}

    def rel_dir(d):  # devices/pci0000:00/0000:00:01.0/0000:01:00.0
        chain = []
        x = d
        while x is not None:
            chain.append(x.bdf)
            x = by_bdf[x.parent] if x.parent else None
        dom, bus = d.bdf.split(':')[0], None
        top = chain[-1]
        bus = top.split(':')[1]
        return os.path.join('devices', f'pci{dom}:{bus}', *reversed(chain))

    def up(rel):  # "../" back to the root from a directory rel to root
        return '../' * len(rel.split('/'))

    os.makedirs(root, exist_ok=True)
    for d in devs:
        rd = rel_dir(d)
        dd = os.path.join(root, rd)
        os.makedirs(dd, exist_ok=True)
        write(os.path.join(dd, 'vendor'), f'0x{d.vendor:04x}\n')
        write(os.path.join(dd, 'device'), f'0x{d.device:04x}\n')
        write(os.path.join(dd, 'class'), f'0x{d.cls:06x}\n')
        write(os.path.join(dd, 'revision'), f'0x{d.rev:02x}\n')
        write(os.path.join(dd, 'subsystem_vendor'), f'0x{d.sv:04x}\n')
        write(os.path.join(dd, 'subsystem_device'), f'0x{d.sd:04x}\n')
        write(os.path.join(dd, 'numa_node'), f'{d.numa}\n')
        write(os.path.join(dd, 'config'), config_space(d))
        if d.link:
            for kind in ('current', 'max'):
                write(os.path.join(dd, f'{kind}_link_speed'), f'{d.link[0]}\n')
                write(os.path.join(dd, f'{kind}_link_width'), f'{d.link[1]}\n')
        link(os.path.join(root, 'bus/pci/devices', d.bdf), '../../../' + rd)
        if d.driver:
            drv = os.path.join('bus/pci/drivers', d.driver)
            link(os.path.join(dd, 'driver'), up(rd) + drv)
            link(os.path.join(root, drv, d.bdf), '../../../../' + rd)
        if d.iommu is not None:
            grp = f'kernel/iommu_groups/{d.iommu}'
            link(os.path.join(dd, 'iommu_group'), up(rd) + grp)
            link(os.path.join(root, grp, 'devices', d.bdf), '../../../../' + rd)
        if d.physfn:
            link(os.path.join(dd, 'physfn'), '../' + d.physfn)
        for i, vf in enumerate(d.virtfns):
            link(os.path.join(dd, f'virtfn{i}'), '../' + vf)
        for name, text in d.files.items():
            write(os.path.join(dd, name), text)
        for name, target in d.links.items():
            link(os.path.join(dd, name), target)
        for ifname, port in d.net:
            nd = os.path.join(dd, 'net', ifname)
            write(os.path.join(nd, 'operstate'), 'up\n')
            if port is not None:
                write(os.path.join(nd, 'phys_port_name'), port + '\n')
        if d.mdev_types:
            link(os.path.join(root, 'class/mdev_bus', d.bdf), '../../' + rd)
            for tid, name, avail, desc in d.mdev_types:
                td = os.path.join(dd, 'mdev_supported_types', tid)
                write(os.path.join(td, 'name'), name + '\n')
                write(os.path.join(td, 'available_instances'), f'{avail}\n')
                write(os.path.join(td, 'description'), desc + '\n')
                write(os.path.join(td, 'device_api'), 'vfio-pci\n')
                write(os.path.join(td, 'create'), '')
                # devices/ is empty until an mdev exists; git keeps no empty
                # directories, so the fixture has it only when it holds one.
        for uuid, tid in d.mdevs:
            md = os.path.join(dd, uuid)
            os.makedirs(md, exist_ok=True)
            link(os.path.join(md, 'mdev_type'), '../mdev_supported_types/' + tid)
            write(os.path.join(md, 'remove'), '')
            link(os.path.join(dd, 'mdev_supported_types', tid, 'devices', uuid), '../../../' + uuid)
            link(os.path.join(root, 'bus/mdev/devices', uuid), '../../../' + rd + '/' + uuid)


def add_sriov(devs, pf, vf_bdfs, total, vf_device=None, driver=None, iommu_base=None):
    pf.files['sriov_totalvfs'] = f'{total}\n'
    pf.files['sriov_numvfs'] = f'{len(vf_bdfs)}\n'
    vfs = []
    for i, bdf in enumerate(vf_bdfs):
        vf = Dev(bdf, pf.vendor, vf_device or pf.device, pf.cls, pf.rev, pf.sv, pf.sd,
                 parent=pf.parent, numa=pf.numa, driver=driver,
                 iommu=None if iommu_base is None else iommu_base + i, link=pf.link)
        vf.physfn = pf.bdf
        pf.virtfns.append(bdf)
        vfs.append(vf)
    devs.extend(vfs)
    return vfs


def vf_bdfs(pf_bdf, first_fn, count):
    """VF addresses after a PF at function first_fn, stride 1, as the A10/H100 lay them out."""
    dom, bus, rest = pf_bdf.split(':')
    out = []
    for i in range(count):
        n = first_fn + i
        out.append(f'{dom}:{bus}:{n // 8:02x}.{n % 8}')
    return out


A100_TYPES = [  # GRID A100 (40GB) types, reference/nvidia.md 7.1
    ('nvidia-474', 'NVIDIA A100-1-5C', 'num_heads=1, frl_config=60, framebuffer=4096M, max_resolution=4096x2160, max_instance=7'),
    ('nvidia-475', 'NVIDIA A100-2-10C', 'num_heads=1, frl_config=60, framebuffer=8192M, max_resolution=4096x2160, max_instance=3'),
    ('nvidia-476', 'NVIDIA A100-3-20C', 'num_heads=1, frl_config=60, framebuffer=20480M, max_resolution=4096x2160, max_instance=2'),
    ('nvidia-478', 'NVIDIA A100-7-40C', 'num_heads=1, frl_config=60, framebuffer=40960M, max_resolution=4096x2160, max_instance=1'),
    ('nvidia-706', 'NVIDIA A100-1-5CME', 'num_heads=1, frl_config=60, framebuffer=4096M, max_resolution=4096x2160, max_instance=1'),
]

H100_TYPES = [  # ids invented for the fixture; names as NVIDIA's H100 SXM5 80GB types
    (1061, 'NVIDIA H100XM-1-10C'), (1062, 'NVIDIA H100XM-1-20C'), (1063, 'NVIDIA H100XM-2-20C'),
    (1066, 'NVIDIA H100XM-7-80C'), (1070, 'NVIDIA H100XM-10C'), (1071, 'NVIDIA H100XM-20C'),
]


def creatable(types):
    return 'ID    : vGPU Name\n' + ''.join(f'{i:<5d} : {n}\n' for i, n in types)


def root_complex(dom='0000', numa=0):
    return [Dev(f'{dom}:00:00.0', 0x8086, 0x09a2, 0x060000, 0x04, 0x8086, 0x0000, numa=numa, iommu=0)]


def tree_a100_legacy():
    devs = root_complex()
    rp = Dev('0000:40:01.1', 0x1022, 0x1483, 0x060400, 0x00, parent=None, numa=0,
             driver='pcieport', iommu=10, link=('16.0 GT/s PCIe', 16), header=1)
    devs.append(rp)
    pf = Dev('0000:41:00.0', 0x10de, 0x20f1, 0x030200, 0xa1, 0x10de, 0x145f, parent=rp.bdf,
             numa=0, driver='nvidia', iommu=11, link=('16.0 GT/s PCIe', 16))
    devs.append(pf)
    vfs = add_sriov(devs, pf, vf_bdfs(pf.bdf, 4, 4), 16, driver='nvidia', iommu_base=12)
    for vf in vfs:
        vf.mdev_types = [(t, n, 1, desc) for t, n, desc in A100_TYPES]
    # One vGPU exists on the first VF: nothing else fits there.
    vfs[0].mdev_types = [(t, n, 0, desc) for t, n, desc in A100_TYPES]
    vfs[0].mdevs = [('9b5b2e1c-7f3a-4c55-a1f0-3d2b8c6e4a10', 'nvidia-476')]
    return devs


def tree_h100_vendor():
    devs = root_complex()
    rp = Dev('0000:c0:01.1', 0x1022, 0x1483, 0x060400, 0x00, numa=1, driver='pcieport',
             iommu=20, link=('32.0 GT/s PCIe', 16), header=1)
    devs.append(rp)
    pf = Dev('0000:c1:00.0', 0x10de, 0x2330, 0x030200, 0xa1, 0x10de, 0x16c1, parent=rp.bdf,
             numa=1, driver='nvidia', iommu=21, link=('32.0 GT/s PCIe', 16))
    devs.append(pf)
    vfs = add_sriov(devs, pf, vf_bdfs(pf.bdf, 4, 4), 32, driver='nvidia', iommu_base=22)
    for i, vf in enumerate(vfs):
        vf.files['nvidia/creatable_vgpu_types'] = creatable(H100_TYPES)
        vf.files['nvidia/current_vgpu_type'] = '0\n'
        vf.files['nvidia/vgpu_params'] = '\n'
        os_dir = 'vfio-dev/vfio%d' % i
        vf.files[os_dir + '/dev'] = '511:%d\n' % i
    # VF 0 holds a 2-20C vGPU; the driver then offers only the same size (homogeneous).
    vfs[0].files['nvidia/current_vgpu_type'] = '1063\n'
    for vf in vfs[1:3]:
        vf.files['nvidia/creatable_vgpu_types'] = creatable([(1063, 'NVIDIA H100XM-2-20C')])
    # VF 3: capacity used up, the header only.
    vfs[3].files['nvidia/creatable_vgpu_types'] = creatable([])
    # A second H100 on another PCI segment, SR-IOV capable but without VFs.
    devs += root_complex('0001', numa=1)
    rp2 = Dev('0001:00:02.0', 0x1022, 0x1483, 0x060400, 0x00, numa=1, driver='pcieport',
              iommu=40, link=('32.0 GT/s PCIe', 16), header=1)
    devs.append(rp2)
    pf2 = Dev('0001:01:00.0', 0x10de, 0x2330, 0x030200, 0xa1, 0x10de, 0x16c1, parent=rp2.bdf,
              numa=1, driver='nvidia', iommu=41, link=('32.0 GT/s PCIe', 16))
    pf2.files['sriov_totalvfs'] = '32\n'
    pf2.files['sriov_numvfs'] = '0\n'
    devs.append(pf2)
    return devs


def tree_host_mixed():
    devs = root_complex()
    # Root ports and what hangs below them.
    rp1 = Dev('0000:00:01.0', 0x8086, 0x347a, 0x060400, 0x04, numa=0, driver='pcieport', iommu=1,
              link=('16.0 GT/s PCIe', 4), header=1)
    nvme = Dev('0000:01:00.0', 0x144d, 0xa80a, 0x010802, 0x00, 0x144d, 0xa801, parent=rp1.bdf,
               numa=0, driver='nvme', iommu=2, link=('16.0 GT/s PCIe', 4))
    rp2 = Dev('0000:00:02.0', 0x8086, 0x347b, 0x060400, 0x04, numa=0, driver='pcieport', iommu=3,
              link=('8.0 GT/s PCIe', 8), header=1)
    x710_0 = Dev('0000:02:00.0', 0x8086, 0x1572, 0x020000, 0x02, 0x8086, 0x0007, parent=rp2.bdf,
                 numa=0, driver='i40e', iommu=4, link=('8.0 GT/s PCIe', 8))
    x710_0.net = [('ens1f0', None)]
    x710_1 = Dev('0000:02:00.1', 0x8086, 0x1572, 0x020000, 0x02, 0x8086, 0x0007, parent=rp2.bdf,
                 numa=0, driver='i40e', iommu=4, link=('8.0 GT/s PCIe', 8))
    x710_1.net = [('ens1f1', None)]
    rp3 = Dev('0000:00:03.0', 0x8086, 0x347c, 0x060400, 0x04, numa=0, driver='pcieport', iommu=5,
              link=('16.0 GT/s PCIe', 16), header=1)
    # ConnectX-6 PF in switchdev mode: its own netdev (p0) and two representors.
    cx6 = Dev('0000:03:00.0', 0x15b3, 0x101b, 0x020000, 0x00, 0x15b3, 0x0007, parent=rp3.bdf,
              numa=0, driver='mlx5_core', iommu=6, link=('16.0 GT/s PCIe', 16))
    cx6.net = [('enp3s0f0np0', 'p0'), ('enp3s0f0r0', 'pf0vf0'), ('enp3s0f0r1', 'pf0vf1')]
    cx6_1 = Dev('0000:03:00.1', 0x15b3, 0x101b, 0x020000, 0x00, 0x15b3, 0x0007, parent=rp3.bdf,
                numa=0, driver='mlx5_core', iommu=7, link=('16.0 GT/s PCIe', 16))
    cx6_1.net = [('enp3s0f1np1', 'p1')]
    cx6_1.files['sriov_totalvfs'] = '8\n'
    cx6_1.files['sriov_numvfs'] = '0\n'
    devs += [rp1, nvme, rp2, x710_0, x710_1, rp3, cx6, cx6_1]
    vfs = add_sriov(devs, cx6, ['0000:03:00.2', '0000:03:00.3'], 8, vf_device=0x101c,
                    driver='mlx5_core', iommu_base=8)
    vfs[0].net = [('enp3s0f0v0', None)]
    # A sound card whose pci.ids name has double quotes; an id pci.ids lacks.
    legacy = Dev('0000:00:1c.0', 0x8086, 0x1c10, 0x060400, 0xb5, numa=0, driver='pcieport',
                 iommu=12, header=1)
    snd = Dev('0000:04:00.0', 0x1092, 0x9999, 0x040100, 0x00, 0x1092, 0x0000,
              parent=legacy.bdf, numa=0, iommu=12)
    unknown = Dev('0000:04:01.0', 0x1af4, 0x7fff, 0xff0000, 0x01, 0x1af4, 0x0001,
                  parent=legacy.bdf, numa=-1, iommu=12)
    devs += [legacy, snd, unknown]
    # A VGA function that sits in the root complex (no link attributes).
    devs.append(Dev('0000:00:1f.3', 0x8086, 0xa348, 0x040300, 0x10, 0x1028, 0x0869, numa=0,
                    driver='snd_hda_intel', iommu=13))
    return devs


def tree_large():
    """The benchmark host: 8 H100 with 32 VFs each (vendor-specific) + 30 other devices."""
    devs = root_complex()
    bus = 0x10
    others = 0
    for g in range(8):
        rp = Dev(f'0000:00:{g + 1:02x}.0', 0x8086, 0x347a, 0x060400, 0x04, numa=g // 4,
                 driver='pcieport', iommu=100 + g, link=('32.0 GT/s PCIe', 16), header=1)
        pf = Dev(f'0000:{bus:02x}:00.0', 0x10de, 0x2330, 0x030200, 0xa1, 0x10de, 0x16c1,
                 parent=rp.bdf, numa=g // 4, driver='nvidia', iommu=200 + g * 40,
                 link=('32.0 GT/s PCIe', 16))
        devs += [rp, pf]
        others += 1
        vfs = add_sriov(devs, pf, vf_bdfs(pf.bdf, 4, 32), 32, driver='nvidia',
                        iommu_base=201 + g * 40)
        for vf in vfs:
            vf.files['nvidia/creatable_vgpu_types'] = creatable(H100_TYPES)
            vf.files['nvidia/current_vgpu_type'] = '0\n'
        bus += 0x10
    # The other devices (root ports counted above): NICs and NVMe behind ports.
    n = 0
    while others < 30:
        rp = Dev(f'0000:00:{0x10 + n:02x}.0', 0x8086, 0x347b, 0x060400, 0x04, numa=0,
                 driver='pcieport', iommu=600 + n, link=('16.0 GT/s PCIe', 4), header=1)
        ep_bus = 0x90 + n
        if n % 2 == 0:
            ep = Dev(f'0000:{ep_bus:02x}:00.0', 0x144d, 0xa80a, 0x010802, 0x00, 0x144d, 0xa801,
                     parent=rp.bdf, numa=0, driver='nvme', iommu=700 + n, link=('16.0 GT/s PCIe', 4))
        else:
            ep = Dev(f'0000:{ep_bus:02x}:00.0', 0x8086, 0x1572, 0x020000, 0x02, 0x8086, 0x0007,
                     parent=rp.bdf, numa=0, driver='i40e', iommu=700 + n, link=('8.0 GT/s PCIe', 8))
            ep.net = [(f'ens{n}f0', None)]
        devs += [rp, ep]
        others += 2
        n += 1
    return devs


TREES = {
    'a100-legacy': tree_a100_legacy,
    'h100-vendor': tree_h100_vendor,
    'host-mixed': tree_host_mixed,
}


def write_all(out):
    for name, fn in TREES.items():
        d = os.path.join(out, name)
        if os.path.lexists(d):
            shutil.rmtree(d)
        build(os.path.join(d, 'sys'), fn())


def same_tree(a, b):
    """True when directories a and b hold the same names, links, and file bytes."""
    for dirpath, dirnames, filenames in os.walk(a):
        rel = os.path.relpath(dirpath, a)
        other = os.path.join(b, rel)
        if not os.path.isdir(other) or os.path.islink(other):
            print(f'missing directory {rel}', file=sys.stderr)
            return False
        mine = set(dirnames + filenames)
        theirs = set(os.listdir(other))
        if mine != theirs:
            print(f'{rel}: entries differ: {sorted(mine ^ theirs)}', file=sys.stderr)
            return False
        for n in dirnames + filenames:
            pa, pb = os.path.join(dirpath, n), os.path.join(other, n)
            if os.path.islink(pa) != os.path.islink(pb):
                print(f'{rel}/{n}: link vs not', file=sys.stderr)
                return False
            if os.path.islink(pa):
                if os.readlink(pa) != os.readlink(pb):
                    print(f'{rel}/{n}: link target differs', file=sys.stderr)
                    return False
            elif os.path.isfile(pa) and not filecmp.cmp(pa, pb, shallow=False):
                print(f'{rel}/{n}: content differs', file=sys.stderr)
                return False
        dirnames[:] = [n for n in dirnames if not os.path.islink(os.path.join(dirpath, n))]
    return True


def main(argv):
    if len(argv) == 3 and argv[1] == '--large':
        build(os.path.join(argv[2], 'sys'), tree_large())
        return 0
    if len(argv) == 3 and argv[1] == '--check':
        with tempfile.TemporaryDirectory() as tmp:
            write_all(tmp)
            ok = all(same_tree(os.path.join(tmp, n), os.path.join(argv[2], n)) and
                     same_tree(os.path.join(argv[2], n), os.path.join(tmp, n)) for n in TREES)
        if not ok:
            print('fixture trees differ from make_trees.py; rerun it', file=sys.stderr)
        return 0 if ok else 1
    if len(argv) == 2:
        write_all(argv[1])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
