// libFuzzer target for what `cadre apply` accepts as a pipeline and what a run
// evaluates from it: any bytes as a KFP pipeline spec (read within the manifest
// limits, then protocol/spec/pipeline_spec.h), as a CEL condition or selector
// (pipelines/cel_expression.h), as a recurring run's cron schedule
// (pipelines/cron_schedule.h) and as a command-line argument with placeholders
// (pipelines/placeholders.h), and a workload executor's spec through substitution
// (pipelines/spec_placeholders.h), and as a whole manifest of any kind
// (protocol/spec/manifest.h: Job ... RecurringRun, Notebook). Nothing may crash; a
// spec that parses has every task of every DAG in its topological order, exactly once.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "pipelines/cel_expression.h"
#include "pipelines/cron_schedule.h"
#include "pipelines/placeholders.h"
#include "pipelines/spec_placeholders.h"
#include "protocol/spec/manifest.h"
#include "protocol/spec/manifest_limits.h"
#include "protocol/spec/pipeline_spec.h"

namespace {

void check_dag(const cadre::spec::Dag& dag) {
  std::set<std::string> seen(dag.order.begin(), dag.order.end());
  if (seen.size() != dag.tasks.size() || dag.order.size() != dag.tasks.size()) __builtin_trap();
}

void as_spec(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return;
  }
  cadre::spec::ManifestLimits limits;
  limits.max_nodes = 20000;
  if (!cadre::spec::check_document(root, limits).ok()) return;
  auto spec = cadre::spec::parse_pipeline_spec(root, "");
  if (!spec.ok()) return;
  check_dag(*spec->root.dag);
  for (const auto& [name, component] : spec->components) {
    if (component.dag) check_dag(*component.dag);
  }
  // A workload executor's spec is substituted at launch: any values, any shape.
  cadre::pipelines::ExecutorContext ctx;
  ctx.parameters = {{"workers", 2}, {"a", "x"}};
  for (const auto& [label, executor] : spec->executors) {
    if (!executor.workload) continue;
    (void)cadre::pipelines::substitute_spec_placeholders(YAML::Load(executor.workload->spec_yaml),
                                                         ctx, "spec");
  }
}

void as_manifest(const std::string& text) {
  cadre::spec::ManifestLimits limits;
  limits.max_nodes = 20000;
  (void)cadre::spec::parse_manifest(text, limits);
}

void as_cel(const std::string& text) {
  auto expr = cadre::pipelines::CelExpression::Parse(text);
  if (!expr.ok()) return;
  const nlohmann::json bindings = {
      {"inputs", {{"parameter_values", {{"a", "heads"}, {"n", 7}, {"x", 0.5}, {"l", {1, 2}}}}}},
      {"string_value", "{\"a\": [1, {\"b\": null}]}"}};
  (void)expr->evaluate(bindings);
}

void as_cron(const std::string& text) {
  auto cron = cadre::pipelines::CronSchedule::Parse(text);
  if (!cron.ok()) return;
  // A next time is after the start and on a whole second.
  const int64_t start = 1794908800123;
  auto next = cron->next_after(start);
  if (next && (*next <= start || *next % 1000 != 0)) __builtin_trap();
}

void as_argument(const std::string& text) {
  if (!cadre::pipelines::scan_placeholders(text).ok()) return;
  cadre::pipelines::ExecutorContext ctx;
  ctx.parameters = {{"a", "x"}, {"n", 3}};
  ctx.output_parameter_files["Output"] = "/t/parameters/Output";
  ctx.output_file = "/t/executor_output.json";
  (void)cadre::pipelines::resolve_args({text}, ctx);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1 << 16)) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  as_spec(text);
  as_manifest(text);
  as_cel(text);
  as_cron(text);
  as_argument(text);
  return 0;
}
