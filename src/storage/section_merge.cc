#include "storage/section_merge.h"

#include <string_view>

namespace cdp::storage {
namespace {

class SectionMerge final : public rocksdb::MergeOperator {
 public:
  const char* Name() const override { return "cdp.SectionMerge"; }

  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    if (in.existing_value == nullptr || in.operand_list.empty()) return false;
    const std::string_view record = in.existing_value->ToStringView();
    const std::string_view head = record.substr(0, record.find('\0'));
    const auto& section = in.operand_list.back();
    out->new_value.reserve(head.size() + 1 + section.size());
    out->new_value.assign(head);
    out->new_value.push_back('\0');
    out->new_value.append(section.data(), section.size());
    return true;
  }

  // Two operands: the newer one is the section.
  bool PartialMerge(const rocksdb::Slice& /*key*/, const rocksdb::Slice& /*left*/,
                    const rocksdb::Slice& right, std::string* new_value,
                    rocksdb::Logger* /*logger*/) const override {
    new_value->assign(right.data(), right.size());
    return true;
  }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> section_merge_operator() {
  static const auto shared = std::make_shared<SectionMerge>();
  return shared;
}

}  // namespace cdp::storage
