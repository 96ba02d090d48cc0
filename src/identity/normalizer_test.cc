#include "identity/normalizer.h"

#include <gtest/gtest.h>

namespace cdp::identity {
namespace {

TEST(NormalizerTest, EmailsAreTrimmedAndCaseFolded) {
  IdentifierNormalizer normalizer;
  EXPECT_EQ(normalizer.normalize("email", "  Jane.Doe@Example.COM \n"), "jane.doe@example.com");
  EXPECT_EQ(normalizer.normalize("email", "ÉLODIE@exemple.fr"), "élodie@exemple.fr");
}

TEST(NormalizerTest, UnicodeIsComposedSoBothSpellingsMatch) {
  IdentifierNormalizer normalizer;
  // "é" precomposed (U+00E9) and decomposed (e + U+0301) are one identifier.
  EXPECT_EQ(normalizer.normalize("user_id", "caf\xC3\xA9"),
            normalizer.normalize("user_id", "cafe\xCC\x81"));
  EXPECT_EQ(normalizer.normalize("email", "CAFE\xCC\x81@x.org"), "caf\xC3\xA9@x.org");
}

TEST(NormalizerTest, OtherTypesKeepTheirCase) {
  IdentifierNormalizer normalizer;
  EXPECT_EQ(normalizer.normalize("user_id", " AbC-42 "), "AbC-42");
  EXPECT_EQ(normalizer.normalize("anonymous_id", "7F3A"), "7F3A");
}

TEST(NormalizerTest, PhonesBecomeE164InTheDefaultRegion) {
  IdentifierNormalizer us("US");
  EXPECT_EQ(us.normalize("phone", "(415) 555-0132"), "+14155550132");
  EXPECT_EQ(us.normalize("phone", "+44 20 7946 0958"), "+442079460958");
  IdentifierNormalizer gb("GB");
  EXPECT_EQ(gb.normalize("phone", "020 7946 0958"), "+442079460958");
}

TEST(NormalizerTest, ValuesThatCannotBeIdentifiersAreRefused) {
  IdentifierNormalizer normalizer;
  EXPECT_EQ(normalizer.normalize("email", "   "), std::nullopt);
  EXPECT_EQ(normalizer.normalize("user_id", ""), std::nullopt);
  EXPECT_EQ(normalizer.normalize("phone", "not a phone"), std::nullopt);
  EXPECT_EQ(normalizer.normalize("phone", "12"), std::nullopt);
  EXPECT_EQ(normalizer.normalize("user_id", "\xFF\xFE"), std::nullopt) << "invalid UTF-8";
}

TEST(NormalizerTest, KnowsPhoneRegions) {
  EXPECT_TRUE(is_known_phone_region("DE"));
  EXPECT_FALSE(is_known_phone_region("XX"));
}

}  // namespace
}  // namespace cdp::identity
