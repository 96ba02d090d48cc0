#include "pipeline/audience_clock.h"

#include "common/log.h"
#include "common/thread_name.h"
#include "common/uuid.h"
#include "profile/audience_records.h"

namespace cdp::pipeline {

AudienceClock::~AudienceClock() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AudienceClock::start() {
  thread_ = std::thread([this] { run(); });
}

Result<uint64_t> AudienceClock::check() {
  if (waiting_seq_ != 0 && processor_.stats().cursor < waiting_seq_) return uint64_t{0};
  waiting_seq_ = 0;
  const int64_t now = options_.clock->now_ms();
  std::unique_ptr<rocksdb::Iterator> it(
      database_.db().NewIterator(rocksdb::ReadOptions(), database_.audiences()));
  it->Seek(profile::kCheckPrefix);
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading check times");
  if (!it->Valid() || !it->key().starts_with(profile::kCheckPrefix)) return uint64_t{0};
  const int64_t due = profile::decode_check_key(it->key().ToStringView()).first;
  if (due > now) return uint64_t{0};
  storage::AppendRequest request;
  request.source = std::string(storage::kAdminSource);
  request.received_at_ms = now;
  const auto message_id = new_uuid_v4();
  request.events.push_back({message_id, R"({"type":"tick","messageId":")" + message_id + "\"}"});
  auto outcome = storage::append_and_wait(writer_, request, [&] { return !stopping_.load(); });
  if (!outcome) return outcome.status();
  if (outcome->seqs.empty() || outcome->seqs.front() == 0) return uint64_t{0};
  waiting_seq_ = outcome->seqs.front();
  processor_.notify();
  return waiting_seq_;
}

void AudienceClock::run() {
  set_thread_name("cdp-clock");
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.period, [&] { return stopping_.load(); });
      if (stopping_) return;
    }
    if (auto ticked = check(); !ticked) {
      log::warn("audience_clock", {{"message", ticked.status().message()}});
    }
  }
}

}  // namespace cdp::pipeline
