#include "common/flat_map.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace cdp {
namespace {

TEST(FlatMapTest, KeepsKeysInOrderAndFindsThemByView) {
  FlatMap<int> map;
  map["b"] = 2;
  EXPECT_TRUE(map.try_emplace("a", 1).second);
  EXPECT_FALSE(map.try_emplace("b", 9).second) << "an existing key keeps its value";
  EXPECT_TRUE(map.emplace("c", 3).second);
  std::string keys;
  for (const auto& [key, value] : map) keys.append(key.data(), key.size()) += std::to_string(value);
  EXPECT_EQ(keys, "a1b2c3");
  EXPECT_EQ(map.find(std::string_view("bc").substr(0, 1))->second, 2);
  EXPECT_EQ(map.find("d"), map.end());
  EXPECT_TRUE(map.contains("c"));
  EXPECT_EQ(map.count("z"), 0u);
  EXPECT_EQ(map.at("a"), 1);
  EXPECT_THROW((void)map.at("z"), std::out_of_range);
  EXPECT_EQ(map.erase("b"), 1u);
  EXPECT_EQ(map.erase("b"), 0u);
  EXPECT_EQ(map.erase_if([](const auto& entry) { return entry.second == 3; }), 1u);
  EXPECT_EQ(map.size(), 1u);
  auto other = map;
  EXPECT_EQ(other, map);
  other["a"] = 5;
  EXPECT_NE(other, map);
}

TEST(FlatMapTest, AHintPlacesOrFindsTheKeyWhereverItPoints) {
  FlatMap<int> map;
  EXPECT_TRUE(map.try_emplace(map.end(), "m", 1).second) << "empty map, end";
  EXPECT_TRUE(map.try_emplace(map.begin(), "a", 2).second) << "smallest key, begin";
  EXPECT_TRUE(map.try_emplace(map.end(), "z", 3).second) << "largest key, end";
  auto [found, inserted] = map.try_emplace(map.begin() + 1, "m", 9);  // on the equal key
  EXPECT_FALSE(inserted);
  EXPECT_EQ(found->second, 1);
  EXPECT_TRUE(map.try_emplace(map.begin() + 2, "n", 4).second) << "right after an equal-prefix key";
  EXPECT_FALSE(map.try_emplace(map.begin(), "z", 9).second) << "wrong hint, existing key";
  EXPECT_TRUE(map.try_emplace(map.end(), "b", 5).second) << "wrong hint, new key";
  std::string keys;
  for (const auto& [key, value] : map) keys.append(key.data(), key.size()) += std::to_string(value);
  EXPECT_EQ(keys, "a2b5m1n4z3");
}

// Random operations on a FlatMap and a std::map: the same contents after each.
TEST(FlatMapTest, BehavesAsAStdMap) {
  std::mt19937 random(3);
  FlatMap<int> flat;
  std::map<std::string, int, std::less<>> reference;
  for (int step = 0; step < 5000; ++step) {
    const auto key = std::to_string(random() % 40);
    const int value = static_cast<int>(random() % 100);
    switch (random() % 6) {
      case 0:
        flat[key] = value;
        reference[key] = value;
        break;
      case 1:
        EXPECT_EQ(flat.try_emplace(key, value).second, reference.try_emplace(key, value).second);
        break;
      case 2: EXPECT_EQ(flat.erase(key), reference.erase(key)); break;
      case 4: {
        // A hint anywhere, right or wrong: a wrong one must cost only the search.
        const auto hint = flat.begin() + static_cast<ptrdiff_t>(random() % (flat.size() + 1));
        const auto [it, inserted] = flat.try_emplace(hint, key, value);
        EXPECT_EQ(inserted, reference.try_emplace(key, value).second);
        EXPECT_EQ(std::string_view(it->first), key);
        break;
      }
      case 3: {
        auto it = flat.find(key);
        if (it != flat.end()) flat.erase(it);
        reference.erase(key);
        break;
      }
      default:
        EXPECT_EQ(flat.erase_if([&](const auto& e) { return e.second == value; }),
                  std::erase_if(reference, [&](const auto& e) { return e.second == value; }));
    }
    ASSERT_EQ(flat.size(), reference.size()) << "step " << step;
    ASSERT_TRUE(std::equal(flat.begin(), flat.end(), reference.begin(), reference.end(),
                           [](const auto& a, const auto& b) {
                             return std::string_view(a.first) == b.first && a.second == b.second;
                           }))
        << "step " << step;
  }
}

}  // namespace
}  // namespace cdp
