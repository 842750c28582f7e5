#include "training/optim/optimizer.h"

#include "training/optim/adam.h"
#include "training/optim/sgd.h"

namespace cadre::training {

Result<std::unique_ptr<Optimizer>> Optimizer::Create(const OptimizerOptions& options,
                                                     kernels::Backend* backend, size_t n) {
  const Shape shape{static_cast<int>(n)};
  if (options.kind == "sgd") {
    ASSIGN_OR_RETURN(auto velocity, Tensor::Create(backend, shape));
    return std::unique_ptr<Optimizer>(new Sgd(options, std::move(velocity)));
  }
  if (options.kind == "adam") {
    ASSIGN_OR_RETURN(auto m, Tensor::Create(backend, shape));
    ASSIGN_OR_RETURN(auto v, Tensor::Create(backend, shape));
    return std::unique_ptr<Optimizer>(new Adam(options, std::move(m), std::move(v)));
  }
  return InvalidArgument("optimizer: must be sgd or adam, got '" + options.kind + "'");
}

}  // namespace cadre::training
