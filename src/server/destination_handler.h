#pragma once

#include <string>
#include <string_view>

#include "activation/delivery_engine.h"
#include "server/http_types.h"
#include "server/slow_queries.h"

namespace cdp::server {

// Destinations (docs/activation.md, docs/api/openapi.yaml). Admin token:
//   GET    /admin/v1/destinations                       every destination with its status
//   GET    /admin/v1/destinations/{name}
//   PUT    /admin/v1/destinations/{name}                {"type": "webhook", "url": ..., ...}
//   DELETE /admin/v1/destinations/{name}                and everything it kept
//   POST   /admin/v1/destinations/{name}/test           opens a connection, sends nothing
//   POST   /admin/v1/destinations/{name}/sample         sends one sample message
//   GET    /admin/v1/destinations/{name}/messages/{id}  a message's attempts and fate
//   GET    /admin/v1/destinations/{name}/dead-letters?after=ID&limit=N
//   POST   /admin/v1/destinations/{name}/dead-letters/replay   {"ids": [...]} or all
// Calls that wait for the network or for a destination to stop (define, delete, test, sample,
// replay) run on a thread of their own (SlowQueries), never on the HTTP threads.
// Thread-safe.
class DestinationHandler {
 public:
  DestinationHandler(std::string admin_token, activation::DeliveryEngine& engine)
      : admin_token_(std::move(admin_token)), engine_(engine) {}

  static bool handles(std::string_view path);
  void handle(const Request& request, Responder respond);
  void stop() { slow_.stop(); }

 private:
  Response list(const Request& request);
  Response show(const Request& request, const std::string& name);
  Response define(const Request& request, const std::string& name);
  Response remove(const Request& request, const std::string& name);
  Response message(const Request& request, const std::string& name, const std::string& id);
  Response dead_letters(const Request& request, const std::string& name);
  Response replay(const Request& request, const std::string& name);
  Response test(const Request& request, const std::string& name);
  Response sample(const Request& request, const std::string& name);

  std::string admin_token_;
  activation::DeliveryEngine& engine_;
  SlowQueries slow_;
};

}  // namespace cdp::server
