#include "pci/names.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <csetjmp>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

extern "C" {
#include <pci/pci.h>
}

namespace gpuvm::pci {
namespace {

// libpci reports a fatal error through pci_access::error, which must not
// return and has no user pointer. While we load pci.ids we catch it with
// longjmp (libpci has closed the file by then and holds nothing else); this
// pointer says where to jump. Thread-local, not process-wide: two threads may
// each load their own database.
struct LoadFailure {
  std::jmp_buf env;
  char message[512];
};
thread_local LoadFailure* t_loading = nullptr;

extern "C" void on_pci_error(char* format, ...) {
  std::va_list args;
  va_start(args, format);
  if (LoadFailure* f = t_loading) {
    std::vsnprintf(f->message, sizeof f->message, format, args);
    va_end(args);
    std::longjmp(f->env, 1);
  }
  // After loading only pci_malloc can fail (out of memory); there is no way
  // back into our code from here.
  std::fputs("gpuvm: libpci: ", stderr);
  std::vfprintf(stderr, format, args);
  std::fputc('\n', stderr);
  va_end(args);
  std::abort();
}

// Warnings concern libpci's own name cache (~/.pciids-cache); not ours to show.
extern "C" void on_pci_warning(char*, ...) {}
extern "C" void on_pci_debug(char*, ...) {}

// Returns false with `message` filled when libpci gave up on the file.
bool load_name_list(pci_access* a, std::string& message) {
  LoadFailure failure;
  failure.message[0] = '\0';
  t_loading = &failure;
  if (setjmp(failure.env) != 0) {
    t_loading = nullptr;
    message = failure.message;
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return false;
  }
  int ok = pci_load_name_list(a);
  t_loading = nullptr;
  if (!ok) message = "cannot open it";
  return ok != 0;
}

// lspci -nn asks libpci for "name [id]" (PCI_LOOKUP_MIXED); pci.rb then takes
// the name back off with / \[(....)\]$/. Doing the same keeps every quirk of
// libpci's stand-ins ("Device [2330]" gives "Device") and of its 128-byte
// buffers.
std::string strip_id(const char* text, const char* id) {
  std::string s = text ? text : "";
  std::string suffix = fmt::format(" [{}]", id);
  if (s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0)
    s.erase(s.size() - suffix.size());
  return s;
}

}  // namespace

PciNames::PciNames(const std::optional<std::filesystem::path>& pci_ids) {
  if (pci_ids) {
    // libpci treats a missing file as "no names"; an explicit one must exist.
    int fd = ::open(pci_ids->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      throw Error(
          Errc::kInvalidArgument,
          fmt::format("cannot read --pci-ids {}: {}", pci_ids->string(), std::strerror(err)), err);
    }
    ::close(fd);
  }
  pacc_ = pci_alloc();
  pacc_->error = on_pci_error;
  pacc_->warning = on_pci_warning;
  pacc_->debug = on_pci_debug;
  // No pci_init(): it would pick an access method by probing the real /sys,
  // and name lookups need none.
  pacc_->numeric_ids = 2;  // lspci -nn: "name [id]"
  if (pci_ids) {
    // libpci frees the copy (to_be_freed = 1) in pci_cleanup.
    pci_set_name_list_path(pacc_, ::strdup(pci_ids->c_str()), 1);
    // An explicit database is the only source of names: no udev hwdb, no
    // ~/.pciids-cache, so that the output depends on that file alone.
    char param[] = "hwdb.disable", one[] = "1";
    pci_set_param(pacc_, param, one);
    pacc_->id_lookup_mode = 0;
  }
  std::string message;
  if (!load_name_list(pacc_, message) && pci_ids) {
    pci_cleanup(pacc_);
    pacc_ = nullptr;
    throw Error(Errc::kInvalidArgument,
                fmt::format("cannot use --pci-ids {}: {}", pci_ids->string(), message));
  }
}

PciNames::~PciNames() {
  if (pacc_) pci_cleanup(pacc_);
}

std::string PciNames::vendor(uint16_t vendor_id) const {
  char buf[128], num[8];
  std::snprintf(num, sizeof num, "%04x", vendor_id);
  return strip_id(pci_lookup_name(pacc_, buf, sizeof buf, PCI_LOOKUP_VENDOR, int{vendor_id}, 0),
                  num);
}

std::string PciNames::device(uint16_t vendor_id, uint16_t device_id) const {
  char buf[128], num[8];
  std::snprintf(num, sizeof num, "%04x", device_id);
  return strip_id(
      pci_lookup_name(pacc_, buf, sizeof buf, PCI_LOOKUP_DEVICE, int{vendor_id}, int{device_id}),
      num);
}

std::string PciNames::device_class(uint16_t class_id) const {
  char buf[128], num[8];
  std::snprintf(num, sizeof num, "%04x", class_id);
  return strip_id(pci_lookup_name(pacc_, buf, sizeof buf, PCI_LOOKUP_CLASS, int{class_id}), num);
}

void PciNames::fill(Device& d) const {
  d.vendor_name = vendor(d.vendor_id);
  d.device_name = device(d.vendor_id, d.device_id);
  d.class_name = device_class(static_cast<uint16_t>(d.class_code >> 8));
  d.subsystem_vendor_name.clear();
  d.subsystem_device_name.clear();
  // lspci -vmm shows SVendor/SDevice only for a subsystem vendor other than 0
  // and ffff; the same lookups as its show_machine().
  if (d.subsystem_vendor_id && *d.subsystem_vendor_id != 0 && *d.subsystem_vendor_id != 0xffff) {
    int sv = *d.subsystem_vendor_id;
    int sd = d.subsystem_device_id.value_or(0);
    char buf[128], num[8];
    std::snprintf(num, sizeof num, "%04x", sv);
    d.subsystem_vendor_name = strip_id(
        pci_lookup_name(pacc_, buf, sizeof buf, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR, sv), num);
    std::snprintf(num, sizeof num, "%04x", sd);
    d.subsystem_device_name =
        strip_id(pci_lookup_name(pacc_, buf, sizeof buf, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_DEVICE,
                                 int{d.vendor_id}, int{d.device_id}, sv, sd),
                 num);
  }
}

}  // namespace gpuvm::pci
