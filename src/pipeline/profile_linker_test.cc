// Probabilistic matching of profiles: records that share no identifier but describe the same
// person are proposed as links, the links merge them through the log, a second run finds nothing
// more, and an incremental run scores only the new profiles.
#include "pipeline/profile_linker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "pipeline/internal/processor_fixture.h"

namespace cdp::pipeline {
namespace {

using ::testing::HasSubstr;

// Whether a link joins person p's CRM record (user_id crm-p) and loyalty record (email pP@...).
bool is_true_pair(const ProposedLink& link) {
  const auto& crm = link.a.starts_with("user_id:") ? link.a : link.b;
  const auto& email = link.a.starts_with("email:") ? link.a : link.b;
  return email.starts_with("email:p") &&
         "user_id:crm-" + email.substr(7, email.find('@') - 7) == crm;
}

class ProfileLinkerTest : public internal::ProcessorFixture {
 protected:
  // Person p's CRM record (user_id crm-p) and loyalty record (email only), which differ by a
  // nickname or a typo, and share no identifier.
  void people(int from, int to) {
    const char* firsts[] = {"robert", "elizabeth", "william", "margaret", "james", "catherine"};
    const char* nicknames[] = {"bob", "liz", "bill", "maggie", "jim", "kate"};
    const char* cities[] = {"leeds", "york", "bath", "hull"};
    for (int p = from; p < to; ++p) {
      static const char* syllables[] = {"ash", "bel", "cor", "dun", "fen", "gar", "hol", "kin",
                                        "lam", "mor", "nor", "pen", "ros", "sal", "tor", "wil"};
      const std::string surname =
          std::string(syllables[p % 16]) + syllables[(p / 16 + 5) % 16] + (p % 2 ? "ley" : "ford");
      const std::string dob = std::to_string(1940 + p % 50) + "-0" + std::to_string(1 + p % 9) +
                              "-1" + std::to_string(p % 9);
      const std::string city = cities[p % 4];
      append(R"({"type":"identify","userId":"crm-)" + std::to_string(p) +
             R"(","traits":{"first":")" + firsts[p % 6] + R"(","last":")" + surname +
             R"(","dob":")" + dob + R"(","city":")" + city + R"("}})");
      append(R"({"type":"identify","traits":{"email":"p)" + std::to_string(p) +
             R"(@example.com","first":")" + (p % 2 ? nicknames[p % 6] : firsts[p % 6]) +
             R"(","last":")" + surname + (p % 3 ? "" : "e") + R"(","dob":")" + dob +
             R"(","city":")" + city + R"("}})");
    }
    process();
  }

  LinkingOptions options() {
    auto config = match::parse_match_config(R"(
      [columns]
      first = "first_name"
      last = "surname"
      dob = "date"
      city = "place"
      [settings]
      u_sample_pairs = 20000
    )",
                                            "test");
    EXPECT_TRUE(config.has_value()) << config.status().message();
    LinkingOptions out;
    out.config = *config;
    return out;
  }

  void apply(const std::vector<ProposedLink>& links) {
    for (const auto& link : links) {
      append(R"({"type":"link","a":")" + link.a + R"(","b":")" + link.b + R"(","score":)" +
                 std::to_string(link.probability) + R"(,"explanation":)" + link.explanation + "}",
             std::string(storage::kMatchSource));
    }
    process();
  }

  // How many people's two records ended on one profile.
  int together(int from, int to) {
    int count = 0;
    for (int p = from; p < to; ++p) {
      const auto crm = find("user_id", "crm-" + std::to_string(p));
      count += crm != 0 && crm == find("email", "p" + std::to_string(p) + "@example.com");
    }
    return count;
  }
};

TEST_F(ProfileLinkerTest, RecordsOfOnePersonAreLinkedAndMergedThroughTheLog) {
  people(0, 60);
  auto run = link_profiles(*database_, options());
  ASSERT_TRUE(run.has_value()) << run.status().message();
  EXPECT_EQ(run->profiles, 120u);
  EXPECT_FALSE(run->model_json.empty()) << "trained without labels";
  ASSERT_GE(run->links.size(), 48u) << "at least 80% of the people";
  // The rest (a surname typo on an unremarkable first name) are for a person to decide.
  EXPECT_EQ(run->links.size() + run->reviews.size(), 60u);
  for (const auto& review : run->reviews) {
    EXPECT_GE(review.probability, 0.5);
    EXPECT_LT(review.probability, 0.9);
  }
  auto pairs = run->links;
  pairs.insert(pairs.end(), run->reviews.begin(), run->reviews.end());
  for (const auto& link : pairs) {
    EXPECT_THAT(link.explanation, HasSubstr("\"comparison\""));
    EXPECT_TRUE(is_true_pair(link)) << "never two different people: " << link.a << " " << link.b;
  }
  for (const auto& link : run->links) EXPECT_GE(link.probability, 0.9);
  apply(run->links);
  EXPECT_EQ(together(0, 60), static_cast<int>(run->links.size()));

  // A second run reads one profile per merged person; what it still links (the model is
  // retrained on the merged data) are the remaining true pairs, never two people.
  auto again = link_profiles(*database_, options());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->profiles, 120 - run->links.size());
  for (const auto& link : again->links) EXPECT_TRUE(is_true_pair(link)) << link.a << " " << link.b;
}

TEST_F(ProfileLinkerTest, AnIncrementalRunScoresOnlyTheNewProfiles) {
  people(0, 60);
  auto full = link_profiles(*database_, options());
  ASSERT_TRUE(full.has_value());
  apply(full->links);
  const auto watermark = full->max_profile;
  people(60, 90);
  auto saved = match::parse_saved_model(full->model_json);
  ASSERT_TRUE(saved.has_value()) << saved.status().message();
  auto incremental_options = options();
  incremental_options.new_after = watermark;
  incremental_options.saved = *saved;
  auto incremental = link_profiles(*database_, incremental_options);
  ASSERT_TRUE(incremental.has_value()) << incremental.status().message();
  EXPECT_EQ(incremental->new_profiles, 60u);
  EXPECT_TRUE(incremental->model_json.empty()) << "the saved model was reused";
  EXPECT_GE(incremental->links.size(), 24u);
  for (const auto& link : incremental->links) {
    EXPECT_TRUE(link.profile_a > watermark || link.profile_b > watermark)
        << "every scored pair has a new profile";
    EXPECT_TRUE(is_true_pair(link)) << link.a << " " << link.b;
  }
  apply(incremental->links);
  EXPECT_EQ(together(60, 90), static_cast<int>(incremental->links.size()));
}

TEST_F(ProfileLinkerTest, AModelTrainedUnderOtherColumnsIsTrainedAgainUnlessTheUserGaveIt) {
  people(0, 30);
  auto full = link_profiles(*database_, options());
  ASSERT_TRUE(full.has_value());
  auto saved = match::parse_saved_model(full->model_json);
  ASSERT_TRUE(saved.has_value());
  auto fewer = options();
  fewer.config.columns.pop_back();  // the city is no longer compared
  fewer.saved = *saved;
  fewer.saved_trained_on = full->profiles;  // trained by the service
  auto retrained = link_profiles(*database_, fewer);
  ASSERT_TRUE(retrained.has_value()) << retrained.status().message();
  EXPECT_FALSE(retrained->model_json.empty());
  fewer.saved_trained_on = 0;  // configured by the user: it must fit
  EXPECT_FALSE(link_profiles(*database_, fewer).has_value());
}

}  // namespace
}  // namespace cdp::pipeline
