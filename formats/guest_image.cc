#include <filesystem>
#include <memory>
#include <zstd.h>

#include "formats/trace_container.h"
#include "formats/trace_header.h"
#include "formats/zstd_frame.h"
#include "vmm/boot/boot_file.h"
#include "vmm/error.h"
#include "vmm/sha256.h"

namespace rrvm {
namespace {

// Images are written once per recording and read on every replay: compress hard where that is
// cheap. zstd's level 19 runs at ~3 MB/s, so the bound keeps it under ~25 ms (a test kernel of
// tens of KB saves ~10 % over level 3). Above it level 3: Debian's 8 MB bzImage takes 4 s at
// level 19 to save 0.14 %, and a 1 MB gzip initrd 0.16 s of the writer's CPU to save 0.1 %.
constexpr int kImageCompressionLevel = 19;
constexpr int kLargeImageCompressionLevel = 3;
constexpr size_t kLargeImageBytes = 64 << 10;

// Where a referenced image is read from: `search_dir`'s file of its name if there is one, else
// its recorded path.
std::string referenced_path(const GuestImage& image, const std::string& search_dir) {
  if (search_dir.empty()) return image.name;
  const std::filesystem::path there =
      std::filesystem::path(search_dir) / std::filesystem::path(image.name).filename();
  std::error_code error;
  return std::filesystem::exists(there, error) ? there.string() : image.name;
}

// A referenced image's file, which must be the one recorded.
std::vector<uint8_t> read_referenced(const GuestImage& image, const std::string& what,
                                     const std::string& search_dir) {
  const std::string path = referenced_path(image, search_dir);
  const std::string recorded = " (the trace references it: " + std::to_string(image.original_size) +
                               " bytes, sha256 " + sha256_hex(image.sha256) + ")";
  const Error changed(ExitCode::kBadInput,
                      what + " " + path + " has changed since the recording" + recorded);
  std::error_code error; // a missing file is read_boot_file's to report
  if (std::filesystem::file_size(path, error) != image.original_size && !error) throw changed;
  std::vector<uint8_t> out = [&] {
    try {
      return read_boot_file(what, path);
    } catch (const Error& e) {
      throw Error(e.code(), e.what() + recorded);
    }
  }();
  if (out.size() != image.original_size || sha256_of(out) != image.sha256) throw changed;
  return out;
}

} // namespace

GuestImage GuestImage::from_bytes(std::string name, std::span<const uint8_t> bytes,
                                  uint8_t mode_bits, std::vector<ImageSegment> segments) {
  GuestImage image;
  image.name = std::move(name);
  image.original_size = bytes.size();
  image.sha256 = sha256_of(bytes);
  image.zstd.resize(ZstdFrameWriter::bound(bytes.size()));
  const int level =
      bytes.size() > kLargeImageBytes ? kLargeImageCompressionLevel : kImageCompressionLevel;
  image.zstd.resize(ZstdFrameWriter(level).write(bytes, image.zstd));
  image.mode_bits = mode_bits;
  image.segments = std::move(segments);
  return image;
}

GuestImage GuestImage::referencing(const std::string& path, std::span<const uint8_t> bytes,
                                   uint8_t mode_bits, std::vector<ImageSegment> segments) {
  GuestImage image;
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(path, error);
  image.name = error ? path : absolute.lexically_normal().string();
  image.original_size = bytes.size();
  image.sha256 = sha256_of(bytes);
  image.referenced = true;
  image.mode_bits = mode_bits;
  image.segments = std::move(segments);
  return image;
}

std::vector<uint8_t> GuestImage::bytes(const std::string& search_dir) const {
  const std::string what = "guest image '" + name + "'";
  if (original_size > kMaxImageBytes) throw Error(ExitCode::kBadInput, what + " is too large");
  if (referenced) return read_referenced(*this, "guest image", search_dir);
  if (ZSTD_getFrameContentSize(zstd.data(), zstd.size()) != original_size)
    throw Error(ExitCode::kBadInput, what + ": compressed size field is wrong");
  std::vector<uint8_t> out(original_size);
  const size_t n = ZSTD_decompress(out.data(), out.size(), zstd.data(), zstd.size());
  if (ZSTD_isError(n) || n != original_size)
    throw Error(ExitCode::kBadInput, what + " does not decompress");
  if (sha256_of(out) != sha256)
    throw Error(ExitCode::kBadInput, what + " does not match its sha256");
  return out;
}

} // namespace rrvm
