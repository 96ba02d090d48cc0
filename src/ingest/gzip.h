#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace cdp::ingest {

// Decompresses a gzip (RFC 1952) body, concatenated members included.
// Fails with kResourceExhausted as soon as the output would pass `max_output_bytes`
// (a small body must not inflate into gigabytes), and with kInvalidArgument on corrupt input.
Result<std::string> gunzip(std::string_view compressed, size_t max_output_bytes);

// Compresses `data` as gzip; for tests and the load generator.
std::string gzip_compress(std::string_view data);

}  // namespace cdp::ingest
