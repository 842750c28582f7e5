// Random search: every parameter drawn from its prior. A finite space is not
// sampled twice at the same point and exhausts when used up.
#pragma once

#include <cstdint>

#include "tuning/suggester.h"

namespace cadre::tuning {

// Points in a space whose parameters all have finite choices (saturating at
// 2^40); 0 when a parameter is continuous.
int64_t finite_size(const SearchSpace& space);
// Whether a trial of the history already has this point.
bool taken(const TrialHistory& history, const Assignment& a);

class RandomSearch : public Suggester {
 public:
  RandomSearch(SearchSpace space, uint64_t seed) : space_(std::move(space)), seed_(seed) {}
  Result<Next> next(const TrialHistory& history) override;

 private:
  SearchSpace space_;
  uint64_t seed_;
};

}  // namespace cadre::tuning
