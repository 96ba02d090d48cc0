#pragma once

#include <string>

namespace cdp {

// A random (version 4) UUID in its 36-character text form. Thread-safe.
std::string new_uuid_v4();

// A random string of `length` characters from [A-Za-z0-9]; for write keys and tokens. Thread-safe.
std::string random_token(size_t length);

}  // namespace cdp
