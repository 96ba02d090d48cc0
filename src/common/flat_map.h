#pragma once

#include <boost/container/string.hpp>

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace cdp {

// A map from strings, kept as one vector sorted by key: the subset of std::map's interface that
// its users need, with lookups by std::string_view.
//
// Rationale: a profile's audience state holds a hundred or so small entries, decoded from its
// record and destroyed again for almost every event. As std::map that is an allocation per entry
// and a pointer chase per step of a lookup; here it is one allocation and a binary search over
// contiguous memory. Inserting and erasing move the entries after the position, which is cheap
// at these sizes, but it invalidates references and iterators to them (unlike std::map).
// Keys are Boost's string, which holds up to 22 characters without an allocation (std::string
// holds 15): the engine's keys of counters and funnels are 18.
template <typename V>
class FlatMap {
 public:
  using key_type = boost::container::string;
  using value_type = std::pair<key_type, V>;
  using iterator = typename std::vector<value_type>::iterator;
  using const_iterator = typename std::vector<value_type>::const_iterator;

  iterator begin() { return entries_.begin(); }
  iterator end() { return entries_.end(); }
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() { entries_.clear(); }
  void reserve(size_t n) { entries_.reserve(n); }

  iterator find(std::string_view key) {
    const auto it = lower_bound(key);
    return it != entries_.end() && std::string_view(it->first) == key ? it : entries_.end();
  }
  const_iterator find(std::string_view key) const { return const_cast<FlatMap*>(this)->find(key); }
  size_t count(std::string_view key) const { return find(key) != end() ? 1 : 0; }
  bool contains(std::string_view key) const { return find(key) != end(); }

  V& at(std::string_view key) {
    const auto it = find(key);
    if (it == end()) throw std::out_of_range("FlatMap::at: no such key");
    return it->second;
  }
  const V& at(std::string_view key) const { return const_cast<FlatMap*>(this)->at(key); }

  // Inserts V(args...) under `key` unless the key is there; either way, the entry and whether
  // it was inserted.
  template <typename... Args>
  std::pair<iterator, bool> try_emplace(std::string_view key, Args&&... args) {
    auto it = lower_bound(key);
    if (it != entries_.end() && std::string_view(it->first) == key) return {it, false};
    it = entries_.emplace(it, std::piecewise_construct, std::forward_as_tuple(key),
                          std::forward_as_tuple(std::forward<Args>(args)...));
    return {it, true};
  }
  // The same, where `hint` is where the key is or would go (as when walking the map in order
  // alongside another sorted sequence): no search then. A wrong hint costs the search.
  template <typename... Args>
  std::pair<iterator, bool> try_emplace(const_iterator hint, std::string_view key, Args&&... args) {
    const bool right = (hint == entries_.end() || key <= std::string_view(hint->first)) &&
                       (hint == entries_.begin() || std::string_view(std::prev(hint)->first) < key);
    if (!right) return try_emplace(key, std::forward<Args>(args)...);
    const auto offset = hint - entries_.cbegin();
    if (hint != entries_.end() && std::string_view(hint->first) == key) {
      return {entries_.begin() + offset, false};
    }
    const auto it = entries_.emplace(hint, std::piecewise_construct, std::forward_as_tuple(key),
                                     std::forward_as_tuple(std::forward<Args>(args)...));
    return {it, true};
  }
  std::pair<iterator, bool> emplace(std::string_view key, V value) {
    return try_emplace(key, std::move(value));
  }
  V& operator[](std::string_view key) { return try_emplace(key).first->second; }

  size_t erase(std::string_view key) {
    const auto it = find(key);
    if (it == end()) return 0;
    entries_.erase(it);
    return 1;
  }
  iterator erase(const_iterator it) { return entries_.erase(it); }
  // Erases the entries for which `pred(entry)` holds; returns how many.
  template <typename Pred>
  size_t erase_if(Pred pred) {
    const auto before = entries_.size();
    std::erase_if(entries_, pred);
    return before - entries_.size();
  }

  bool operator==(const FlatMap&) const = default;

 private:
  iterator lower_bound(std::string_view key) {
    return std::lower_bound(entries_.begin(), entries_.end(), key,
                            [](const value_type& entry, std::string_view k) {
                              return std::string_view(entry.first) < k;
                            });
  }

  std::vector<value_type> entries_;
};

}  // namespace cdp
