#include "activation/warehouse_rows.h"

#include <gtest/gtest.h>

namespace cdp::activation {
namespace {

const Row* table(const MessageRows& rows, std::string_view name) {
  for (const auto& row : rows.rows) {
    if (row.table == name) return &row;
  }
  return nullptr;
}

const Cell* cell(const Row& row, std::string_view column) {
  for (const auto& c : row.cells) {
    if (c.column == column) return &c;
  }
  return nullptr;
}

MessageRows rows_of(std::string_view json) {
  ingest::JsonParser parser;
  auto rows = message_rows(json, parser);
  EXPECT_TRUE(rows.has_value()) << rows.status().message();
  return rows.has_value() ? *rows : MessageRows();
}

TEST(WarehouseRowsTest, NamesAreSnakeCaseAndSafe) {
  EXPECT_EQ(sql_name("anonymousId"), "anonymous_id");
  EXPECT_EQ(sql_name("userID"), "user_id");
  EXPECT_EQ(sql_name("Order Completed"), "order_completed");
  EXPECT_EQ(sql_name("  price ($) "), "price");
  EXPECT_EQ(sql_name("3d-view"), "_3d_view");
  EXPECT_EQ(sql_name("\"; DROP TABLE users; --"), "drop_table_users");
  EXPECT_EQ(sql_name("日本"), "");
  EXPECT_EQ(sql_name(std::string(100, 'a')).size(), 63u);
  EXPECT_EQ(event_table_name("Users"), "_users");
  EXPECT_EQ(event_table_name("cdp quarantine"), "_cdp_quarantine");
  EXPECT_EQ(event_table_name("Signed Up"), "signed_up");
  EXPECT_EQ(event_table_name("Profiles"), "_profiles");
  EXPECT_EQ(event_table_name("cdp_" + std::string(80, 'x')).size(), 63u);
  const auto japanese = event_table_name("購入完了");
  EXPECT_EQ(japanese.size(), 22u) << japanese;
  EXPECT_EQ(japanese.rfind("event_", 0), 0u);
  EXPECT_EQ(japanese, event_table_name("購入完了")) << "the same name, the same table";
  EXPECT_NE(japanese, event_table_name("登録"));
}

TEST(WarehouseRowsTest, ATrackFillsTracksAndItsOwnTable) {
  const auto rows = rows_of(
      R"({"type":"track","event":"Order Completed","messageId":"m1","userId":"u1",)"
      R"("timestamp":"2026-11-26T10:00:00.000Z","receivedAt":"2026-11-26T10:00:01Z",)"
      R"("context":{"page":{"url":"https://x.test/"},"library":{"name":"analytics.js"}},)"
      R"("integrations":{"All":true},)"
      R"("properties":{"id":"p1","revenue":12.5,"quantity":3,"gift":false,"tags":["a","b"],)"
      R"("shipping":{"city":"Lyon"},"note":null}})");
  ASSERT_EQ(rows.rows.size(), 2u);
  const auto* tracks = table(rows, "tracks");
  ASSERT_NE(tracks, nullptr);
  EXPECT_EQ(tracks->kind, TableKind::kEvents);
  EXPECT_EQ(tracks->cells[0].column, "id");
  EXPECT_EQ(tracks->cells[0].value, "m1");
  EXPECT_EQ(cell(*tracks, "event")->value, "order_completed");
  EXPECT_EQ(cell(*tracks, "event_text")->value, "Order Completed");
  EXPECT_EQ(cell(*tracks, "user_id")->value, "u1");
  EXPECT_EQ(cell(*tracks, "timestamp")->type, ColumnType::kTimestamp);
  EXPECT_EQ(cell(*tracks, "received_at")->value, "2026-11-26T10:00:01.000Z");
  EXPECT_EQ(cell(*tracks, "context_page_url")->value, "https://x.test/");
  EXPECT_EQ(cell(*tracks, "context_library_name")->value, "analytics.js");
  EXPECT_EQ(cell(*tracks, "integrations_all"), nullptr);
  EXPECT_EQ(cell(*tracks, "revenue"), nullptr) << "properties live in the event's own table";

  const auto* own = table(rows, "order_completed");
  ASSERT_NE(own, nullptr);
  EXPECT_EQ(cell(*own, "id")->value, "m1");
  EXPECT_EQ(cell(*own, "property_id")->value, "p1") << "a property named id is renamed";
  EXPECT_EQ(cell(*own, "revenue")->type, ColumnType::kDouble);
  EXPECT_EQ(cell(*own, "quantity")->type, ColumnType::kBigint);
  EXPECT_EQ(cell(*own, "gift")->value, "false");
  EXPECT_EQ(cell(*own, "tags")->type, ColumnType::kJson);
  EXPECT_EQ(cell(*own, "tags")->value, R"(["a","b"])");
  EXPECT_EQ(cell(*own, "shipping_city")->value, "Lyon");
  EXPECT_EQ(cell(*own, "note"), nullptr) << "null is no value";
  EXPECT_TRUE(rows.quarantined.empty());
}

TEST(WarehouseRowsTest, AnIdentifyFillsIdentifiesAndItsUser) {
  const auto rows =
      rows_of(R"({"type":"identify","messageId":"m2","userId":"u1","anonymousId":"a1",)"
              R"("timestamp":"2026-11-26T10:00:00.000Z","traits":{"email":"j@x.test","plan":"pro",)"
              R"("id":"t-1","logins":4}})");
  ASSERT_EQ(rows.rows.size(), 2u);
  const auto* identifies = table(rows, "identifies");
  ASSERT_NE(identifies, nullptr);
  EXPECT_EQ(cell(*identifies, "email")->value, "j@x.test");
  EXPECT_EQ(cell(*identifies, "anonymous_id")->value, "a1");
  EXPECT_EQ(cell(*identifies, "trait_id")->value, "t-1");
  const auto* users = table(rows, "users");
  ASSERT_NE(users, nullptr);
  EXPECT_EQ(users->kind, TableKind::kUsers);
  EXPECT_EQ(cell(*users, "id")->value, "u1");
  EXPECT_EQ(cell(*users, "timestamp")->value, "2026-11-26T10:00:00.000Z");
  EXPECT_EQ(cell(*users, "plan")->value, "pro");
  EXPECT_EQ(cell(*users, "trait_id")->value, "t-1");
  EXPECT_EQ(cell(*users, "logins")->type, ColumnType::kBigint);
  EXPECT_EQ(users->message_id, "m2");

  const auto anonymous = rows_of(R"({"type":"identify","messageId":"m3","anonymousId":"a1",)"
                                 R"("traits":{"plan":"free"}})");
  EXPECT_EQ(table(anonymous, "users"), nullptr) << "users are keyed by userId";
}

TEST(WarehouseRowsTest, AudienceChangesFillHistoryAndMembership) {
  const auto rows =
      rows_of(R"({"messageId":"audience-7.0","type":"audience_exited","audience":"vip",)"
              R"("profile":"p-1","time":"2026-11-26T10:00:00.000Z","cause":"event e1","seq":7})");
  const auto* changes = table(rows, "audience_changes");
  ASSERT_NE(changes, nullptr);
  EXPECT_EQ(cell(*changes, "type")->value, "exited");
  EXPECT_EQ(cell(*changes, "seq")->type, ColumnType::kBigint);
  const auto* membership = table(rows, "audience_memberships");
  ASSERT_NE(membership, nullptr);
  EXPECT_EQ(membership->kind, TableKind::kMemberships);
  EXPECT_EQ(cell(*membership, "in_audience")->value, "false");
  EXPECT_EQ(cell(*membership, "exited_at")->type, ColumnType::kTimestamp);
  EXPECT_EQ(cell(*membership, "entered_at"), nullptr);
}

TEST(WarehouseRowsTest, ValuesNoColumnCanHoldAreQuarantined) {
  const auto rows = rows_of(
      R"({"type":"track","event":"E","messageId":"m4","sentAt":"yesterday",)"
      R"("properties":{"日本":1,"big":1e400,"nul":"a\u0000b","deep":{"x\u0000":[{"k":"\u0000"}]},)"
      R"("a b":1,"a_b":2,"nested":{"a b":1,"a_b":2}}})");
  const auto* own = table(rows, "e");
  ASSERT_NE(own, nullptr);
  EXPECT_EQ(cell(*own, "big")->type, ColumnType::kText) << "too big for a double";
  EXPECT_EQ(cell(*own, "nul")->value,
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(cell(*own, "deep_x")->value, R"([{"k":"\ufffd"}])");
  EXPECT_EQ(cell(*own, "a_b")->value, "1");
  EXPECT_EQ(cell(*own, "property_a_b")->value, "2");
  EXPECT_EQ(cell(*own, "nested_a_b")->value, "1");
  ASSERT_EQ(rows.quarantined.size(), 3u);
  EXPECT_EQ(rows.quarantined[0].column, "sent_at");
  EXPECT_EQ(rows.quarantined[0].reason, "is not an ISO-8601 time");
  EXPECT_EQ(rows.quarantined[1].column, "properties.日本");
  EXPECT_EQ(rows.quarantined[2].column, "properties.nested.a_b") << "two fields, one column";
  EXPECT_EQ(rows.quarantined[2].value, "2");
  EXPECT_EQ(rows.quarantined[2].message_id, "m4");
}

TEST(WarehouseRowsTest, ValuesPostgreSQLWouldRefuseAreQuarantinedOrKeptAsText) {
  const auto rows =
      rows_of(R"({"type":"track","event":"E","messageId":"m5","timestamp":"0000-01-01T00:00:00Z",)"
              R"("properties":{"id128":170141183460469231731687303715884105727,"huge":[1e200000],)"
              R"("fine":[1e300],"tiny":[0.0001e-16380],"small":[1e-16383]}})");
  const auto* own = table(rows, "e");
  ASSERT_NE(own, nullptr);
  EXPECT_EQ(cell(*own, "id128")->type, ColumnType::kText) << "no digit lost to a double";
  EXPECT_EQ(cell(*own, "id128")->value, "170141183460469231731687303715884105727");
  EXPECT_EQ(cell(*own, "huge"), nullptr);
  EXPECT_EQ(cell(*own, "fine")->type, ColumnType::kJson);
  EXPECT_EQ(cell(*own, "small")->type, ColumnType::kJson) << "16,383 digits after the point fit";
  EXPECT_EQ(cell(*own, "tiny"), nullptr) << "16,384 digits after the point do not";
  ASSERT_EQ(rows.quarantined.size(), 3u);
  EXPECT_EQ(rows.quarantined[0].reason, "is outside the years 1 to 9999");
  EXPECT_EQ(rows.quarantined[1].column, "properties.huge");
  EXPECT_EQ(rows.quarantined[1].reason, "holds a number outside the range of jsonb");
  EXPECT_EQ(rows.quarantined[2].column, "properties.tiny");

  // Keys too long to index: the row is left out, and said so.
  const std::string long_id(2000, 'u');
  const auto unkeyable = rows_of(R"({"type":"identify","messageId":"m6","userId":")" + long_id +
                                 R"(","traits":{"plan":"pro"}})");
  EXPECT_EQ(table(unkeyable, "users"), nullptr);
  ASSERT_NE(table(unkeyable, "identifies"), nullptr);
  ASSERT_EQ(unkeyable.quarantined.size(), 1u);
  EXPECT_EQ(unkeyable.quarantined[0].table, "users");
  EXPECT_EQ(unkeyable.quarantined[0].value.size(), 1024u);
}

TEST(WarehouseRowsTest, TypesAndWhatColumnsAccept) {
  EXPECT_EQ(column_type_from_sql("double precision"), ColumnType::kDouble);
  EXPECT_EQ(column_type_from_sql("timestamp with time zone"), ColumnType::kTimestamp);
  EXPECT_EQ(column_type_from_sql("numeric"), std::nullopt);
  EXPECT_TRUE(column_accepts(ColumnType::kDouble, ColumnType::kBigint));
  EXPECT_FALSE(column_accepts(ColumnType::kBigint, ColumnType::kDouble));
  EXPECT_TRUE(column_accepts(ColumnType::kText, ColumnType::kBoolean));
  EXPECT_TRUE(column_accepts(ColumnType::kJson, ColumnType::kText));
  EXPECT_FALSE(column_accepts(ColumnType::kBoolean, ColumnType::kText));
  ingest::JsonParser parser;
  EXPECT_FALSE(message_rows(R"({"type":"nonsense"})", parser).has_value());
  EXPECT_FALSE(message_rows("[1]", parser).has_value());
}

}  // namespace
}  // namespace cdp::activation
