#include "ingest/gzip.h"

#include <zlib.h>

namespace cdp::ingest {

Result<std::string> gunzip(std::string_view compressed, size_t max_output_bytes) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK)
    return Status::internal("zlib inflateInit2 failed");
  std::string out;
  out.resize(std::min<size_t>(std::max<size_t>(compressed.size() * 4, 4096), max_output_bytes + 1));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  size_t produced = 0;
  Status status;
  while (true) {
    if (produced == out.size()) {
      if (out.size() > max_output_bytes) {
        status = Status::resource_exhausted("the gzip body inflates to more than " +
                                            std::to_string(max_output_bytes) + " bytes");
        break;
      }
      out.resize(std::min(out.size() * 2, max_output_bytes + 1));
    }
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    stream.avail_out = static_cast<uInt>(out.size() - produced);
    const int result = inflate(&stream, Z_NO_FLUSH);
    produced = out.size() - stream.avail_out;
    if (result == Z_STREAM_END) {
      if (stream.avail_in == 0) break;
      inflateReset(&stream);  // another gzip member follows
      continue;
    }
    if (result == Z_OK) continue;
    if (result == Z_BUF_ERROR && stream.avail_in == 0) {
      status = Status::invalid_argument("the gzip body is truncated");
      break;
    }
    if (result != Z_BUF_ERROR) {
      status = Status::invalid_argument(std::string("the gzip body is corrupt: ") +
                                        (stream.msg != nullptr ? stream.msg : "inflate failed"));
      break;
    }
  }
  inflateEnd(&stream);
  if (!status.is_ok()) return status;
  if (produced > max_output_bytes) {
    return Status::resource_exhausted("the gzip body inflates to more than " +
                                      std::to_string(max_output_bytes) + " bytes");
  }
  out.resize(produced);
  return out;
}

std::string gzip_compress(std::string_view data) {
  z_stream stream{};
  deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

}  // namespace cdp::ingest
