#include "pci/names.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bitset>
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

// PCI_NONRET as in pci.h: clang types the error hook noreturn (a GNU function type attribute).
extern "C" PCI_NONRET void on_pci_error(char* format, ...) {
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

std::optional<std::string> slurp(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      if (n < 0) return std::nullopt;
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// n hex digits at the start of s, or -1.
int hex_prefix(std::string_view s, size_t n) {
  if (s.size() < n) return -1;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    int d = hex_digit(s[i]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// The lines of pci.ids that name these vendors, devices (with their
// subsystem lines) and base classes (whole class blocks), delimited as
// libpci's parser does (names-parse.c: a top-level line opens a block, one tab
// a device or subclass in it, two tabs a subsystem or prog-if of that).
// std::nullopt when a top-level line is not one libpci accepts: then the whole
// file goes to libpci, which reports the error with its line number.
std::optional<std::string> subset(std::string_view text, const std::bitset<65536>& vendors,
                                  const std::vector<uint32_t>& devices,
                                  const std::bitset<256>& classes, size_t& lines) {
  std::string out;
  out.reserve(64 * 1024);
  bool keep = false;          // the current top-level block
  bool vendor_block = false;  // ... is a vendor, whose devices are picked one by one
  int vendor = -1;
  bool keep_device = false;  // the current device line and its subsystems
  lines = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#' || line[first] == '\r') continue;
    if (line[0] != '\t') {
      vendor_block = false;
      if (line.size() >= 2 && line[1] == ' ' && line[0] >= 'A' && line[0] <= 'Z') {
        if (line[0] == 'C') {
          int cls = hex_prefix(line.substr(2), 2);
          if (cls < 0) return std::nullopt;
          keep = classes[static_cast<size_t>(cls)];
        } else if (line[0] == 'S') {
          int v = hex_prefix(line.substr(2), 4);
          if (v < 0) return std::nullopt;
          keep = vendors[static_cast<size_t>(v)];
        } else {
          keep = false;  // a block libpci skips (reserved for future use)
        }
      } else {
        int v = hex_prefix(line, 4);
        if (v < 0 || line.size() < 5 || (line[4] != ' ' && line[4] != '\t')) return std::nullopt;
        keep = vendors[static_cast<size_t>(v)];
        vendor_block = true;
        vendor = v;
        keep_device = false;
      }
    } else if (keep && vendor_block) {
      if (line.size() > 1 && line[1] != '\t') {
        int d = hex_prefix(line.substr(1), 4);
        uint32_t key = (static_cast<uint32_t>(vendor) << 16) | static_cast<uint32_t>(d);
        keep_device = d >= 0 && std::binary_search(devices.begin(), devices.end(), key);
      }
      if (!keep_device) continue;
    }
    if (!keep) continue;
    out.append(line);
    out += '\n';
    ++lines;
  }
  return out;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

PciNames::PciNames(const std::optional<std::filesystem::path>& pci_ids) : explicit_ids_(pci_ids) {
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
  file_ = pacc_->id_file_name ? pacc_->id_file_name : "";
}

PciNames::~PciNames() {
  if (pacc_) pci_cleanup(pacc_);
}

void PciNames::load(const std::vector<Device>* only) {
  if (loaded_) return;
  loaded_ = true;
  subset_ = false;
  std::string message;
  std::optional<std::string> text;
  if (only) {
    text = slurp(file_);
    // Debian's libpci names pci.ids.gz and, like libpci, we fall back to the
    // name without ".gz" (the uncompressed file the pci.ids package ships).
    if (!text && file_.size() > 3 && file_.ends_with(".gz"))
      text = slurp(file_.substr(0, file_.size() - 3));
  }
  // A gzip-compressed pci.ids (1f 8b) is left to libpci's zlib reader.
  if (text && !(text->size() >= 2 && static_cast<unsigned char>((*text)[0]) == 0x1f &&
                static_cast<unsigned char>((*text)[1]) == 0x8b)) {
    wanted_ = Wanted{};
    for (const Device& d : *only) {
      wanted_.vendors.set(d.vendor_id);
      wanted_.devices.push_back((uint32_t{d.vendor_id} << 16) | d.device_id);
      if (d.subsystem_vendor_id) wanted_.vendors.set(*d.subsystem_vendor_id);
      wanted_.classes.set((d.class_code >> 16) & 0xff);
    }
    size_t lines = 0;
    std::sort(wanted_.devices.begin(), wanted_.devices.end());
    auto sub = subset(*text, wanted_.vendors, wanted_.devices, wanted_.classes, lines);
    // An in-memory file that libpci opens by name (/proc/self/fd/N).
    int fd = sub ? ::memfd_create("gpuvm-pci.ids", MFD_CLOEXEC) : -1;
    if (fd >= 0 && write_all(fd, *sub)) {
      std::string name = fmt::format("/proc/self/fd/{}", fd);
      pci_set_name_list_path(pacc_, ::strdup(name.c_str()), 1);
      bool ok = load_name_list(pacc_, message);
      pci_set_name_list_path(pacc_, ::strdup(file_.c_str()), 1);
      ::close(fd);
      if (ok) {
        subset_ = true;
        loaded_lines_ = lines;
        return;
      }
    } else if (fd >= 0) {
      ::close(fd);
    }
  }
  // The whole file, as lspci reads it.
  if (!load_name_list(pacc_, message)) {
    if (explicit_ids_) {
      throw Error(Errc::kInvalidArgument,
                  fmt::format("cannot use --pci-ids {}: {}", explicit_ids_->string(), message));
    }
    return;  // no default database: lspci's stand-ins
  }
  loaded_lines_ = 0;
}

void PciNames::ensure(uint16_t vendor_id, int device_id, int base_class) {
  // After a subset load, an id outside it needs the whole file.
  if (loaded_ && subset_ &&
      ((vendor_id != kNoVendor && !wanted_.vendors[vendor_id]) ||
       (device_id >= 0 &&
        !std::binary_search(wanted_.devices.begin(), wanted_.devices.end(),
                            (uint32_t{vendor_id} << 16) | static_cast<uint32_t>(device_id))) ||
       (base_class >= 0 && !wanted_.classes[static_cast<size_t>(base_class)]))) {
    loaded_ = false;
  }
  load(nullptr);
}

std::string PciNames::vendor(uint16_t vendor_id) {
  ensure(vendor_id, -1, -1);
  char buf[128], num[8];
  std::snprintf(num, sizeof num, "%04x", vendor_id);
  return strip_id(pci_lookup_name(pacc_, buf, sizeof buf, PCI_LOOKUP_VENDOR, int{vendor_id}, 0),
                  num);
}

std::string PciNames::device(uint16_t vendor_id, uint16_t device_id) {
  ensure(vendor_id, device_id, -1);
  char buf[128], num[8];
  std::snprintf(num, sizeof num, "%04x", device_id);
  return strip_id(
      pci_lookup_name(pacc_, buf, sizeof buf, PCI_LOOKUP_DEVICE, int{vendor_id}, int{device_id}),
      num);
}

std::string PciNames::device_class(uint16_t class_id) {
  ensure(kNoVendor, -1, class_id >> 8);
  char buf[128], num[8];
  std::snprintf(num, sizeof num, "%04x", class_id);
  return strip_id(pci_lookup_name(pacc_, buf, sizeof buf, PCI_LOOKUP_CLASS, int{class_id}), num);
}

void PciNames::fill_all(std::vector<Device>& devices) {
  load(&devices);
  for (Device& d : devices) name(d);
}

void PciNames::fill(Device& d) {
  name(d);
}

void PciNames::name(Device& d) {
  const std::array<int, 5> key{d.vendor_id, d.device_id, static_cast<int>(d.class_code >> 8),
                               d.subsystem_vendor_id ? int{*d.subsystem_vendor_id} : -1,
                               d.subsystem_device_id ? int{*d.subsystem_device_id} : -1};
  if (auto it = memo_.find(key); it != memo_.end()) {
    const auto& n = it->second;
    d.vendor_name = n[0];
    d.device_name = n[1];
    d.class_name = n[2];
    d.subsystem_vendor_name = n[3];
    d.subsystem_device_name = n[4];
    return;
  }
  look_up(d);
  memo_.emplace(key, std::array<std::string, 5>{d.vendor_name, d.device_name, d.class_name,
                                                d.subsystem_vendor_name, d.subsystem_device_name});
}

void PciNames::look_up(Device& d) {
  d.vendor_name = vendor(d.vendor_id);
  d.device_name = device(d.vendor_id, d.device_id);
  d.class_name = device_class(static_cast<uint16_t>(d.class_code >> 8));
  d.subsystem_vendor_name.clear();
  d.subsystem_device_name.clear();
  // lspci -vmm shows SVendor/SDevice only for a subsystem vendor other than 0
  // and ffff; the same lookups as its show_machine().
  if (d.subsystem_vendor_id && *d.subsystem_vendor_id != 0 && *d.subsystem_vendor_id != 0xffff) {
    uint16_t sv = *d.subsystem_vendor_id;
    int sd = d.subsystem_device_id.value_or(0);
    ensure(sv, -1, -1);
    char buf[128], num[8];
    std::snprintf(num, sizeof num, "%04x", sv);
    d.subsystem_vendor_name = strip_id(
        pci_lookup_name(pacc_, buf, sizeof buf, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR, int{sv}),
        num);
    std::snprintf(num, sizeof num, "%04x", sd);
    d.subsystem_device_name =
        strip_id(pci_lookup_name(pacc_, buf, sizeof buf, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_DEVICE,
                                 int{d.vendor_id}, int{d.device_id}, int{sv}, sd),
                 num);
  }
}

}  // namespace gpuvm::pci
