// libvirt's <hostdev> for a vGPU (reference opennebula.md §2 "libvirt domain
// XML"), and its insertion into a domain definition.
#pragma once

#include <string>
#include <string_view>

#include "vgpu/vgpu.h"

namespace gpuvm::vgpu {

// mdev:            <hostdev mode='subsystem' type='mdev' model='vfio-pci'>
//                    <source><address uuid='UUID'/></source></hostdev>
// vendor-specific: <hostdev mode='subsystem' type='pci' managed='no'>
//                    <source><address domain='0xDDDD' bus='0xBB' slot='0xSS'
//                    function='0xF'/></source></hostdev>
// managed='no' because the VF stays bound to nvidia, its VFIO provider;
// libvirt must not try to rebind it to vfio-pci.
std::string hostdev_xml(const Device& device);

// Parses `domain_xml` (a libvirt <domain>; `source_name` names it in errors),
// appends the <hostdev> to <devices> (created if missing) unless an
// equivalent one is there already, and returns the document. External
// entities and network access are off. kInvalidArgument for malformed XML or
// a root element that is not <domain>.
std::string insert_hostdev(const std::string& domain_xml, std::string_view source_name,
                           const Device& device);

}  // namespace gpuvm::vgpu
