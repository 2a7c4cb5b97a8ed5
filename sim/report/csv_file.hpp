// A CSV output that keeps everything finished (DESIGN principle 6): rows are appended to the final file
// as whole lines. write() buffers a row in memory; flush() hands every buffered line to the kernel in one
// write(2), so a process killed at any moment (SIGKILL, the OOM killer, a lost ssh session) leaves the
// header and whole rows up to the last flush, and at worst one torn line after them, which a resume
// truncates away (offset() is what a checkpoint records). sync() also fsyncs, for a checkpoint.
//
// Opening creates the file (refusing one that exists: dtsim never overwrites a result silently) and
// writes the header, or reopens it to continue a resumed run at a checkpoint's byte offset.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/report/csv_writer.hpp"

namespace dtsim::report {

class CsvFile {
 public:
  // Creates `path` (it must not exist) and writes the header, flushed. Throws std::runtime_error.
  CsvFile(std::string path, const std::vector<std::string_view>& columns);
  // Reopens `path` to continue after a checkpoint: its content is cut at `offset` bytes (the header and
  // whole rows), and rows are appended from there. Throws std::runtime_error when the file is shorter
  // than `offset` or does not start with this header.
  static CsvFile resume(std::string path, const std::vector<std::string_view>& columns, std::uint64_t offset);

  CsvFile(CsvFile&& other) noexcept;
  CsvFile& operator=(CsvFile&&) = delete;
  CsvFile(const CsvFile&) = delete;
  ~CsvFile();

  // Buffers a row; throws std::logic_error when its cell count differs from the header's.
  void write(const CsvRow& row);
  // Writes every buffered row (whole lines, one write(2)). Throws std::runtime_error on I/O errors.
  void flush();
  // flush(), then fsync.
  void sync();
  // Bytes in the file after the last flush: header and whole rows.
  std::uint64_t offset() const { return offset_; }
  const std::string& path() const { return path_; }

 private:
  CsvFile(std::string path, std::size_t columns, int fd, std::uint64_t offset);
  std::string path_;
  std::size_t columns_ = 0;
  int fd_ = -1;
  std::uint64_t offset_ = 0;
  std::string pending_;
};

// The header line of `columns`, newline included.
std::string csv_header(const std::vector<std::string_view>& columns);

}  // namespace dtsim::report
