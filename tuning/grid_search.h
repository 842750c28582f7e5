// Grid search: the cartesian product of every parameter's choices (lists, int
// steps, double steps) exactly once, in order; then the space is exhausted.
#pragma once

#include <memory>

#include "tuning/suggester.h"

namespace cadre::tuning {

class GridSearch : public Suggester {
 public:
  static Result<std::unique_ptr<GridSearch>> Create(SearchSpace space);
  Result<Next> next(const TrialHistory& history) override;
  int64_t size() const { return size_; }

 private:
  explicit GridSearch(SearchSpace space) : space_(std::move(space)) {}
  SearchSpace space_;
  int64_t size_ = 1;
};

}  // namespace cadre::tuning
