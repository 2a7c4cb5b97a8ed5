#include "sim/report/csv_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace dtsim::report {

namespace {
[[noreturn]] void io_error(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

// Writes all of `data` (retrying short writes and EINTR).
void write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      io_error("cannot write", path);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}
}  // namespace

std::string csv_header(const std::vector<std::string_view>& columns) {
  CsvRow header;
  for (auto c : columns) header.add(c);
  return header.text() + "\n";
}

CsvFile::CsvFile(std::string path, std::size_t columns, int fd, std::uint64_t offset)
    : path_(std::move(path)), columns_(columns), fd_(fd), offset_(offset) {}

CsvFile::CsvFile(std::string path, const std::vector<std::string_view>& columns)
    : path_(std::move(path)), columns_(columns.size()) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) io_error("cannot create", path_);
  const std::string header = csv_header(columns);
  write_all(fd_, header, path_);
  offset_ = header.size();
}

CsvFile CsvFile::resume(std::string path, const std::vector<std::string_view>& columns, std::uint64_t offset) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) io_error("cannot open", path);
  const std::string header = csv_header(columns);
  struct stat st {};
  std::string start(header.size(), '\0');
  const bool ok = ::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) >= offset &&
                  offset >= header.size() && ::pread(fd, start.data(), start.size(), 0) == static_cast<ssize_t>(start.size()) &&
                  start == header;
  if (!ok) {
    ::close(fd);
    throw std::runtime_error(fmt::format("{}: cannot resume at byte {}: the file is shorter or its header differs",
                                         path, offset));
  }
  if (::ftruncate(fd, static_cast<off_t>(offset)) != 0 || ::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
    ::close(fd);
    io_error("cannot truncate", path);
  }
  return CsvFile(std::move(path), columns.size(), fd, offset);
}

CsvFile::CsvFile(CsvFile&& o) noexcept
    : path_(std::move(o.path_)), columns_(o.columns_), fd_(o.fd_), offset_(o.offset_), pending_(std::move(o.pending_)) {
  o.fd_ = -1;
}

CsvFile::~CsvFile() {
  if (fd_ < 0) return;
  try {
    flush();
  } catch (...) {  // a destructor cannot report; what was flushed before stays
  }
  ::close(fd_);
}

void CsvFile::write(const CsvRow& row) {
  if (row.size() != columns_)
    throw std::logic_error(fmt::format("{}: row has {} cells, the header {}", path_, row.size(), columns_));
  pending_ += row.text();
  pending_ += '\n';
}

void CsvFile::flush() {
  if (pending_.empty()) return;
  write_all(fd_, pending_, path_);
  offset_ += pending_.size();
  pending_.clear();
}

void CsvFile::sync() {
  flush();
  if (::fsync(fd_) != 0) io_error("cannot sync", path_);
}

}  // namespace dtsim::report
