#include "activation/webhook_sender.h"

#include <curl/curl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sys/socket.h>

#include <mutex>

#include "common/check.h"

namespace cdp::activation {
namespace {

constexpr size_t kBodyExcerpt = 1024;

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  const size_t bytes = size * n;
  if (body->size() < kBodyExcerpt) body->append(data, std::min(bytes, kBodyExcerpt - body->size()));
  return bytes;
}

struct HeaderCapture {
  std::string retry_after;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  const size_t bytes = size * n;
  std::string_view line(data, bytes);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    }
    if (match) {
      auto value = line.substr(kName.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() &&
             (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
        value.remove_suffix(1);
      }
      static_cast<HeaderCapture*>(user)->retry_after = std::string(value);
    }
  }
  return bytes;
}

// 5xx and the 4xx that say "not now" are retried. So are the answers of a misconfigured or
// missing endpoint (401, 403, 404, 410): the destination pauses, instead of making every
// message a dead letter at full speed, until it is fixed or the retry window ends.
bool retryable_status(long status) {
  return status == 401 || status == 403 || status == 404 || status == 408 || status == 410 ||
         status == 425 || status == 429 || status >= 500;
}

}  // namespace

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] { CDP_CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK); });
}

// One easy handle per sender: libcurl keeps its connection open between requests.
struct WebhookSender::Curl {
  CURL* handle = nullptr;
  const NetworkGuard* guard = nullptr;
  const std::atomic<bool>* cancelled = nullptr;
  std::string refused;  // set by open_socket when the guard refused an address

  ~Curl() {
    if (handle != nullptr) curl_easy_cleanup(handle);
  }

  static curl_socket_t open_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
    auto* self = static_cast<Curl*>(user);
    if (purpose == CURLSOCKTYPE_IPCXN) {
      auto why = self->guard->refusal(&address->addr);
      if (!why.empty()) {
        self->refused = std::move(why);
        return CURL_SOCKET_BAD;
      }
    }
    return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  }

  // Called often during a transfer: non-zero aborts it.
  static int progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<Curl*>(user)->cancelled->load() ? 1 : 0;
  }
};

WebhookSender::WebhookSender(DestinationSpec spec, const NetworkGuard& guard, const Clock& clock)
    : spec_(std::move(spec)), guard_(guard), clock_(clock) {
  init_curl();
  curl_ = new_handle();
}

std::unique_ptr<WebhookSender::Curl> WebhookSender::new_handle() {
  auto curl = std::make_unique<Curl>();
  curl->guard = &guard_;
  curl->cancelled = &cancelled_;
  curl->handle = curl_easy_init();
  CDP_CHECK(curl->handle != nullptr);
  CURL* h = curl->handle;
  curl_easy_setopt(h, CURLOPT_URL, spec_.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");  // an environment proxy would bypass the guard
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(spec_.timeout_ms));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(spec_.timeout_ms, 5000)));
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, &Curl::open_socket);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, curl.get());
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &Curl::progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, curl.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, "cdp-webhook/1");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
  return curl;
}

WebhookSender::~WebhookSender() = default;

SendResult WebhookSender::send(std::span<const Message* const> batch, int attempt) {
  std::string body;
  if (spec_.batch_size == 1 && batch.size() == 1) {
    body = batch[0]->json;
  } else {
    body = "{\"batch\":[";
    for (size_t i = 0; i < batch.size(); ++i) {
      if (i > 0) body += ',';
      body += batch[i]->json;
    }
    body += "]}";
  }
  const int64_t timestamp_s = clock_.now_ms() / 1000;
  curl_slist* headers = nullptr;
  const auto add = [&headers](const std::string& header) {
    headers = curl_slist_append(headers, header.c_str());
  };
  add("Content-Type: application/json");
  add("Expect:");  // no 100-continue round trip for large batches
  add("X-Cdp-Destination: " + spec_.name);
  add("X-Cdp-Attempt: " + std::to_string(attempt));
  add("X-Cdp-Timestamp: " + std::to_string(timestamp_s));
  if (!spec_.secret.empty()) {
    add("X-Cdp-Signature: " + webhook_signature(spec_.secret, timestamp_s, body));
  }
  SendResult result;
  HeaderCapture captured;
  CURL* h = curl_->handle;
  curl_->refused.clear();
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &captured);
  const CURLcode code = curl_easy_perform(h);
  curl_slist_free_all(headers);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  if (code != CURLE_OK) {
    result.outcome = SendResult::Outcome::kRetry;
    if (code == CURLE_ABORTED_BY_CALLBACK) {
      result.error = "cancelled: the destination is stopping";
    } else if (!curl_->refused.empty()) {
      result.error = "refused: " + curl_->refused +
                     " (SSRF protection; [activation] allowed_networks admits it)";
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
      result.error = "timed out after " + std::to_string(spec_.timeout_ms) + " ms";
    } else {
      result.error = curl_easy_strerror(code);
    }
    return result;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  result.status = static_cast<int>(status);
  if (!captured.retry_after.empty()) {
    if (auto ms = parse_retry_after(captured.retry_after, clock_.now_ms()))
      result.retry_after_ms = *ms;
  }
  if (status >= 200 && status < 300) {
    result.outcome = SendResult::Outcome::kDelivered;
    return result;
  }
  result.error = "HTTP " + std::to_string(status);
  if (status >= 300 && status < 400) result.error += " (redirects are not followed)";
  result.outcome =
      retryable_status(status) ? SendResult::Outcome::kRetry : SendResult::Outcome::kRejected;
  return result;
}

Status WebhookSender::test_connection() {
  auto probe = new_handle();
  std::string ignored;
  curl_easy_setopt(probe->handle, CURLOPT_WRITEDATA, &ignored);
  curl_easy_setopt(probe->handle, CURLOPT_HEADERDATA, nullptr);
  curl_easy_setopt(probe->handle, CURLOPT_HEADERFUNCTION, nullptr);
  curl_easy_setopt(probe->handle, CURLOPT_CONNECT_ONLY, 1L);
  const CURLcode code = curl_easy_perform(probe->handle);
  if (code == CURLE_OK) return Status::ok();
  if (!probe->refused.empty()) {
    return Status::permission_denied("refused: " + probe->refused +
                                     " (SSRF protection; [activation] allowed_networks admits it)");
  }
  return Status::unavailable(std::string("cannot connect to ") + spec_.url + ": " +
                             curl_easy_strerror(code));
}

std::string webhook_signature(std::string_view secret, int64_t timestamp_s, std::string_view body) {
  // Incremental, so that a batch of many messages is not copied to be signed.
  const std::string prefix = std::to_string(timestamp_s) + ".";
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* context = EVP_MAC_CTX_new(mac);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                               OSSL_PARAM_construct_end()};
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t length = 0;
  const bool ok = context != nullptr &&
                  EVP_MAC_init(context, reinterpret_cast<const unsigned char*>(secret.data()),
                               secret.size(), params) == 1 &&
                  EVP_MAC_update(context, reinterpret_cast<const unsigned char*>(prefix.data()),
                                 prefix.size()) == 1 &&
                  EVP_MAC_update(context, reinterpret_cast<const unsigned char*>(body.data()),
                                 body.size()) == 1 &&
                  EVP_MAC_final(context, out, &length, sizeof out) == 1;
  EVP_MAC_CTX_free(context);
  EVP_MAC_free(mac);
  CDP_CHECK(ok);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string signature = "v1=";
  for (size_t i = 0; i < length; ++i) {
    signature += kHex[out[i] >> 4];
    signature += kHex[out[i] & 15];
  }
  return signature;
}

std::optional<int64_t> parse_retry_after(std::string_view value, int64_t now_ms) {
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return std::nullopt;
    return std::stoll(std::string(value)) * 1000;
  }
  const time_t at = curl_getdate(std::string(value).c_str(), nullptr);
  constexpr time_t kYear3000 = 32'503'680'000;  // later dates are nonsense (and would overflow)
  if (at < 0 || at > kYear3000) return std::nullopt;
  return std::max<int64_t>(0, static_cast<int64_t>(at) * 1000 - now_ms);
}

}  // namespace cdp::activation
