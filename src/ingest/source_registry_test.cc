#include "ingest/source_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

namespace cdp::ingest {
namespace {

using ::testing::HasSubstr;

class SourceRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    path_ =
        std::filesystem::temp_directory_path() /
        ("cdp-source-registry-test-" + std::to_string(random()) + "-" + std::to_string(random()));
    open_database();
  }

  void TearDown() override {
    registry_.reset();
    database_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  void open_database() {
    storage::Database::Options options;
    options.path = path_.string();
    auto database = storage::Database::open(options);
    ASSERT_TRUE(database.has_value()) << database.status().to_string();
    database_ = std::move(*database);
  }

  // Opens the registry over the current database with `configured` sources.
  void open_registry(std::vector<Source> configured = {}) {
    auto registry = SourceRegistry::open(*database_, std::move(configured));
    ASSERT_TRUE(registry.has_value()) << registry.status().to_string();
    registry_ = std::move(*registry);
  }

  // Closes everything and opens the same data directory again, like a server restart.
  void restart(std::vector<Source> configured = {}) {
    registry_.reset();
    database_.reset();
    open_database();
    open_registry(std::move(configured));
  }

  static Source configured(std::string name, std::string key, bool enabled = true) {
    return Source{std::move(name), std::move(key), enabled, false};
  }

  std::filesystem::path path_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<SourceRegistry> registry_;
};

TEST_F(SourceRegistryTest, ConfiguredSourcesAreListedAndAuthenticate) {
  open_registry({configured("website", "key-web"), configured("backend", "key-backend")});
  auto sources = registry_->list();
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[0].name, "backend") << "list is sorted by name";
  EXPECT_EQ(sources[1].name, "website");
  EXPECT_TRUE(sources[0].from_config);
  EXPECT_TRUE(sources[1].from_config);

  auto source = registry_->authenticate("key-web");
  ASSERT_TRUE(source.has_value()) << source.status().to_string();
  EXPECT_EQ(source->name, "website");
  EXPECT_EQ(source->write_key, "key-web");
}

TEST_F(SourceRegistryTest, ConfiguredSourcesCannotBeChangedOrRemovedThroughTheApi) {
  open_registry({configured("website", "key-web")});
  auto updated = registry_->update("website", false, false);
  ASSERT_FALSE(updated.has_value());
  EXPECT_EQ(updated.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(updated.status().message(), HasSubstr("config"));

  auto rotated = registry_->update("website", std::nullopt, true);
  ASSERT_FALSE(rotated.has_value());
  EXPECT_EQ(rotated.status().code(), StatusCode::kFailedPrecondition);

  Status removed = registry_->remove("website");
  EXPECT_EQ(removed.code(), StatusCode::kFailedPrecondition);

  auto source = registry_->authenticate("key-web");
  ASSERT_TRUE(source.has_value()) << "the configured source still works";
  EXPECT_TRUE(source->enabled);
}

TEST_F(SourceRegistryTest, ConfiguredSourcesAreNotStoredInTheDataDirectory) {
  open_registry({configured("website", "key-web")});
  restart();
  EXPECT_FALSE(registry_->find("website").has_value());
  EXPECT_FALSE(registry_->authenticate("key-web").has_value());
}

TEST_F(SourceRegistryTest, DisabledConfiguredSourceDoesNotAuthenticate) {
  open_registry({configured("website", "key-web", false)});
  auto source = registry_->authenticate("key-web");
  ASSERT_FALSE(source.has_value());
  EXPECT_EQ(source.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(source.status().message(), HasSubstr("disabled"));
  EXPECT_THAT(source.status().message(), HasSubstr("website"));
}

TEST_F(SourceRegistryTest, ConfiguredSourceWithoutWriteKeyIsRefused) {
  auto registry = SourceRegistry::open(*database_, {configured("website", "")});
  ASSERT_FALSE(registry.has_value());
  EXPECT_EQ(registry.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(registry.status().message(), HasSubstr("website"));
}

TEST_F(SourceRegistryTest, ConfiguredSourceWithInvalidNameIsRefused) {
  auto registry = SourceRegistry::open(*database_, {configured("Web Site", "key")});
  ASSERT_FALSE(registry.has_value());
  EXPECT_EQ(registry.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(registry.status().message(), HasSubstr("Web Site"));
}

TEST_F(SourceRegistryTest, ConfiguredSourcesSharingAWriteKeyAreRefused) {
  auto registry =
      SourceRegistry::open(*database_, {configured("web", "same"), configured("app", "same")});
  ASSERT_FALSE(registry.has_value());
  EXPECT_EQ(registry.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(registry.status().message(), HasSubstr("write key"));
}

TEST_F(SourceRegistryTest, ConfiguredSourceSharingAStoredSourcesKeyIsRefused) {
  open_registry();
  ASSERT_TRUE(registry_->create("api-made", "shared-key", true).has_value());
  registry_.reset();
  auto registry = SourceRegistry::open(*database_, {configured("from-config", "shared-key")});
  ASSERT_FALSE(registry.has_value());
  EXPECT_EQ(registry.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SourceRegistryTest, ConfiguredSourceOverridesAStoredSourceOfTheSameName) {
  open_registry();
  ASSERT_TRUE(registry_->create("web", "old-key", true).has_value());
  restart({configured("web", "config-key")});
  auto source = registry_->find("web");
  ASSERT_TRUE(source.has_value());
  EXPECT_TRUE(source->from_config);
  EXPECT_EQ(source->write_key, "config-key");
  EXPECT_TRUE(registry_->authenticate("config-key").has_value());
  EXPECT_FALSE(registry_->authenticate("old-key").has_value())
      << "the replaced key must stop working";
}

TEST_F(SourceRegistryTest, CreatedSourcesPersistAcrossRestarts) {
  open_registry();
  auto created = registry_->create("mobile", "mobile-key", true);
  ASSERT_TRUE(created.has_value()) << created.status().to_string();
  EXPECT_FALSE(created->from_config);
  ASSERT_TRUE(registry_->create("paused", "paused-key", false).has_value());

  restart();
  auto mobile = registry_->authenticate("mobile-key");
  ASSERT_TRUE(mobile.has_value()) << mobile.status().to_string();
  EXPECT_EQ(mobile->name, "mobile");
  EXPECT_FALSE(mobile->from_config);
  auto paused = registry_->find("paused");
  ASSERT_TRUE(paused.has_value());
  EXPECT_FALSE(paused->enabled);
  EXPECT_EQ(registry_->authenticate("paused-key").status().code(), StatusCode::kPermissionDenied);
}

TEST_F(SourceRegistryTest, CreateGeneratesAWriteKeyWhenNoneIsGiven) {
  open_registry();
  auto first = registry_->create("first", "", true);
  auto second = registry_->create("second", "", true);
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_GE(first->write_key.size(), 20u);
  EXPECT_NE(first->write_key, second->write_key);
  auto source = registry_->authenticate(first->write_key);
  ASSERT_TRUE(source.has_value());
  EXPECT_EQ(source->name, "first");
}

TEST_F(SourceRegistryTest, DuplicateNamesAreRefused) {
  open_registry({configured("configured", "config-key")});
  ASSERT_TRUE(registry_->create("web", "key-1", true).has_value());
  auto duplicate = registry_->create("web", "key-2", true);
  ASSERT_FALSE(duplicate.has_value());
  EXPECT_EQ(duplicate.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(duplicate.status().message(), HasSubstr("web"));
  EXPECT_FALSE(registry_->authenticate("key-2").has_value());

  auto shadowing = registry_->create("configured", "key-3", true);
  ASSERT_FALSE(shadowing.has_value());
  EXPECT_EQ(shadowing.status().code(), StatusCode::kAlreadyExists);
}

TEST_F(SourceRegistryTest, DuplicateWriteKeysAreRefused) {
  open_registry({configured("configured", "config-key")});
  ASSERT_TRUE(registry_->create("web", "key-1", true).has_value());
  auto duplicate = registry_->create("app", "key-1", true);
  ASSERT_FALSE(duplicate.has_value());
  EXPECT_EQ(duplicate.status().code(), StatusCode::kAlreadyExists);
  auto config_key = registry_->create("app", "config-key", true);
  ASSERT_FALSE(config_key.has_value());
  EXPECT_EQ(config_key.status().code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE(registry_->find("app").has_value());
  EXPECT_EQ(registry_->authenticate("key-1")->name, "web");
}

TEST_F(SourceRegistryTest, AuthenticateRefusesUnknownAndEmptyKeys) {
  open_registry({configured("web", "key-web")});
  auto unknown = registry_->authenticate("no-such-key");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown write key"));

  auto empty = registry_->authenticate("");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(empty.status().message(), HasSubstr("no write key"));

  EXPECT_FALSE(registry_->authenticate("key-we").has_value()) << "prefixes are not keys";
  EXPECT_FALSE(registry_->authenticate("KEY-WEB").has_value()) << "keys are case-sensitive";
}

TEST_F(SourceRegistryTest, DisablingAndEnablingASourcePersists) {
  open_registry();
  ASSERT_TRUE(registry_->create("web", "key-web", true).has_value());
  auto disabled = registry_->update("web", false, false);
  ASSERT_TRUE(disabled.has_value()) << disabled.status().to_string();
  EXPECT_FALSE(disabled->enabled);
  EXPECT_EQ(disabled->write_key, "key-web");
  EXPECT_EQ(registry_->authenticate("key-web").status().code(), StatusCode::kPermissionDenied);

  restart();
  EXPECT_EQ(registry_->authenticate("key-web").status().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(registry_->update("web", true, false).has_value());
  restart();
  EXPECT_TRUE(registry_->authenticate("key-web").has_value());
}

TEST_F(SourceRegistryTest, RotatingTheKeyRetiresTheOldOneAndPersists) {
  open_registry();
  ASSERT_TRUE(registry_->create("web", "old-key", true).has_value());
  auto rotated = registry_->update("web", std::nullopt, true);
  ASSERT_TRUE(rotated.has_value()) << rotated.status().to_string();
  EXPECT_NE(rotated->write_key, "old-key");
  EXPECT_FALSE(rotated->write_key.empty());
  EXPECT_TRUE(rotated->enabled) << "rotating leaves enabled alone";
  EXPECT_EQ(registry_->authenticate("old-key").status().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(registry_->authenticate(rotated->write_key).has_value());

  const std::string new_key = rotated->write_key;
  restart();
  EXPECT_EQ(registry_->authenticate("old-key").status().code(), StatusCode::kPermissionDenied);
  auto source = registry_->authenticate(new_key);
  ASSERT_TRUE(source.has_value()) << source.status().to_string();
  EXPECT_EQ(source->name, "web");
}

TEST_F(SourceRegistryTest, RemovedSourcesStayRemovedAfterRestart) {
  open_registry();
  ASSERT_TRUE(registry_->create("web", "key-web", true).has_value());
  ASSERT_TRUE(registry_->create("app", "key-app", true).has_value());
  ASSERT_TRUE(registry_->remove("web").is_ok());
  EXPECT_FALSE(registry_->find("web").has_value());
  EXPECT_FALSE(registry_->authenticate("key-web").has_value());

  restart();
  EXPECT_FALSE(registry_->find("web").has_value());
  EXPECT_FALSE(registry_->authenticate("key-web").has_value());
  EXPECT_TRUE(registry_->authenticate("key-app").has_value());
  // The name and key can be used again.
  EXPECT_TRUE(registry_->create("web", "key-web", true).has_value());
}

TEST_F(SourceRegistryTest, UpdatingOrRemovingAnUnknownSourceIsNotFound) {
  open_registry();
  EXPECT_EQ(registry_->update("ghost", true, false).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->remove("ghost").code(), StatusCode::kNotFound);
}

TEST_F(SourceRegistryTest, CreateRefusesInvalidNames) {
  open_registry();
  auto created = registry_->create("Bad Name", "key", true);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(registry_->authenticate("key").has_value());
}

TEST(SourceNameTest, AcceptsLowercaseDigitsUnderscoreAndDash) {
  for (const std::string& name : {std::string("web"), std::string("a"), std::string("ios-app_2"),
                                  std::string("0"), std::string(64, 'x')}) {
    EXPECT_TRUE(SourceRegistry::validate_name(name).is_ok()) << name;
  }
}

TEST(SourceNameTest, RefusesEverythingElse) {
  for (const std::string& name :
       {std::string(), std::string(65, 'x'), std::string("Web"), std::string("web site"),
        std::string("web/app"), std::string("caf\xC3\xA9"), std::string("a.b"),
        std::string("a\0b", 3)}) {
    Status status = SourceRegistry::validate_name(name);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(status.message(), HasSubstr("a-z")) << "the message says what is allowed";
  }
}

}  // namespace
}  // namespace cdp::ingest
